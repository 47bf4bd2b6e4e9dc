/* notify-listen SOCKET OUT: receive sd_notify datagrams on a new AF_UNIX
 * socket at SOCKET and append each to OUT, one message per line block
 * ("--" between messages).  For the end-to-end tests; runs until killed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: notify-listen SOCKET OUT\n");
		return 64;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "notify-listen: socket path too long\n");
		return 64;
	}
	strcpy(sa.sun_path, argv[1]);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify-listen: socket");
		return 71;
	}
	FILE *out = fopen(argv[2], "a");
	if (!out) {
		perror("notify-listen: open");
		return 73;
	}
	char buf[4096];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("notify-listen: recv");
			return 74;
		}
		buf[n] = '\0';
		fprintf(out, "%s\n--\n", buf);
		fflush(out);
	}
}
