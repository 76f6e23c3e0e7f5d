/*
 * scrape.c: agent-run --attach SOCKET --metrics[=prometheus|json]
 * [--metrics-file FILE]: ask the agent listening on SOCKET for its
 * `metrics` and print them, in the Prometheus text exposition format (or
 * the event as it came), on stdout or into FILE, written whole (a
 * temporary file in the same directory, synced, renamed: what
 * node_exporter's textfile collector wants).  A client, as attach.c.
 */
#include <err.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"
#include "channel.h"
#include "durable.h"
#include "update.h"

/* Mesos's counters (the rest are gauges). */
static const char *const counters[] = { "slave/recovery_errors",
    "slave/executors_terminated", "slave/valid_status_updates",
    "slave/invalid_status_updates", "slave/tasks_finished",
    "slave/tasks_failed", "slave/tasks_killed", "slave/tasks_lost",
    "slave/tasks_error", "slave/tasks_dropped", "slave/tasks_gone",
    "agent/fdatasyncs", NULL };

static bool
is_counter(const char *key)
{
	for (size_t i = 0; counters[i]; i++)
		if (strcmp(counters[i], key) == 0)
			return true;
	return false;
}

/* "slave/uptime_secs" -> "agent_uptime_seconds" (counters: "_total"). */
static void
prom_name(const char *key, char *out, size_t len)
{
	const char *slash = strchr(key, '/');
	size_t n;

	snprintf(out, len, "agent_%s", slash ? slash + 1 : key);
	n = strlen(out);
	if (n > 5 && strcmp(out + n - 5, "_secs") == 0)
		snprintf(out + n - 5, len - (n - 5), "_seconds");
	if (is_counter(key))
		strlcat(out, "_total", len);
}

/* The metrics event as Prometheus text, into fp. */
static void
prometheus(json_t *ev, FILE *fp)
{
	const char *key;
	json_t *v;
	char name[128];
	bool protocol_said = false;

	json_object_foreach(ev, key, v) {
		if (strchr(key, '/') == NULL)
			continue;	/* event, line, id, type */
		if (strcmp(key, "agent/version") == 0) {
			fprintf(fp, "# HELP agent_info agent-run's release\n"
			    "# TYPE agent_info gauge\nagent_info{version=\"%s\"} 1\n",
			    json_string_value(v));
			continue;
		}
		if (strncmp(key, "agent/executors_protocol_", 25) == 0) {
			if (!protocol_said)
				fprintf(fp, "# HELP agent_executors_by_protocol "
				    "executors connected, by the executor protocol "
				    "version they speak\n# TYPE "
				    "agent_executors_by_protocol gauge\n");
			protocol_said = true;
			fprintf(fp, "agent_executors_by_protocol{protocol="
			    "\"%s\"} %lld\n", key + 25,
			    (long long)json_integer_value(v));
			continue;
		}
		if (!json_is_number(v))
			continue;
		prom_name(key, name, sizeof(name));
		fprintf(fp, "# HELP %s agent-run's %s\n# TYPE %s %s\n",
		    name, key, name, is_counter(key) ? "counter" : "gauge");
		if (json_is_integer(v))
			fprintf(fp, "%s %lld\n", name,
			    (long long)json_integer_value(v));
		else
			fprintf(fp, "%s %.6g\n", name, json_real_value(v));
	}
}

/* The agent's `metrics` event, read from fd within timeout_ms: it, or
 * NULL (err says why). */
static json_t *
ask(int fd, long long timeout_ms, const char **why)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	long long end = monotonic_ms() + timeout_ms;
	json_t *ev = NULL;

	if (write(fd, "metrics\n", 8) != 8) {
		*why = "the agent closed the connection";
		return NULL;
	}
	while (ev == NULL) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = end - monotonic_ms();
		ssize_t n;
		char *nl;
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			*why = "no answer within the timeout";
			break;
		}
		if (len + 65536 > cap && (buf = realloc(buf, cap = len + 65536 *
		    2)) == NULL)
			err(EX_OSERR, "metrics");
		if ((n = read(fd, buf + len, cap - len - 1)) <= 0) {
			*why = "the agent closed the connection";
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		/* Events before the answer (what a new driver is told first)
		 * are skipped. */
		while (ev == NULL && (nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			if (strstr(buf, "\"event\":\"metrics\"") != NULL)
				ev = json_loads(buf, 0, NULL);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	free(buf);
	return ev;
}

int
metrics_main(const char *path, const char *format, const char *file,
    long long timeout_ms)
{
	struct ckpt_error e;
	const char *why = NULL;
	char *text = NULL;
	size_t n = 0;
	json_t *ev;
	FILE *fp;
	int fd;

	if ((fd = channel_connect(path, &e)) < 0) {
		warnx("--metrics: %s: %s", path, e.reason);
		return EX_UNAVAILABLE;
	}
	ev = ask(fd, timeout_ms ? timeout_ms : 60000, &why);
	close(fd);
	if (ev == NULL) {
		warnx("--metrics: %s: %s", path, why);
		return EX_UNAVAILABLE;
	}
	if ((fp = open_memstream(&text, &n)) == NULL)
		err(EX_OSERR, "--metrics");
	if (strcmp(format, "json") == 0) {
		json_dumpf(ev, fp, JSON_COMPACT);
		fputc('\n', fp);
	} else
		prometheus(ev, fp);
	fclose(fp);
	json_decref(ev);
	if (file != NULL && durable_write(file, text, n, &e) < 0) {
		free(text);
		error_print(&e);
		return error_exit_code(e.code);
	}
	/* node_exporter (its own user) reads it. */
	if (file != NULL)
		chmod(file, 0644);
	if (file == NULL && (fwrite(text, 1, n, stdout) != n ||
	    fflush(stdout) != 0)) {
		free(text);
		err(EX_IOERR, "stdout");
	}
	free(text);
	return EX_OK;
}
