/* notify.h - sd_notify(3) without libsystemd: one AF_UNIX datagram to
 * $NOTIFY_SOCKET (a leading '@' is the abstract namespace), as systemd
 * documents the protocol.  READY=1, STATUS=..., WATCHDOG=1, RELOADING=1,
 * STOPPING=1. */
#ifndef CKPTD_NOTIFY_H
#define CKPTD_NOTIFY_H

#include <stdint.h>

/* Send msg (e.g. "READY=1\nSTATUS=watching 2 runs").  0 when sent or when
 * NOTIFY_SOCKET is unset; -1 with errno when sending failed. */
int notify_send(const char *msg);

/* WATCHDOG_USEC, when set for this process (WATCHDOG_PID unset or ours):
 * the interval in microseconds; 0 otherwise.  Ping at half of it. */
uint64_t notify_watchdog_usec(void);

/* "RELOADING=1" needs MONOTONIC_USEC= since systemd 253: the helper
 * formats "RELOADING=1\nMONOTONIC_USEC=N". */
int notify_reloading(void);

#endif
