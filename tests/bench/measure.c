/* measure: run argv N times; print best wall seconds and peak RSS (KiB).
 * usage: measure N CMD [ARG...]   (stdout of CMD goes to /dev/null) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	double best = 1e9;
	long rss = 0;
	int n;

	if (argc < 3)
		return 64;
	n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		struct timespec a, b;
		struct rusage ru;
		int status;
		pid_t pid;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if ((pid = fork()) == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		wait4(pid, &status, 0, &ru);
		clock_gettime(CLOCK_MONOTONIC, &b);
		double t = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
		if (ru.ru_maxrss > rss)
			rss = ru.ru_maxrss;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "measure: %s failed\n", argv[2]);
			return 1;
		}
	}
	printf("%.4f %ld\n", best, rss);
	return 0;
}
