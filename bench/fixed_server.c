/*
 * patron-fixed-server: the ceiling that libmicrohttpd itself sets on this machine. It answers
 * every request with the same small JSON body, on the threading model of `patron serve`, so
 * that the gap between its figure and Patron's is what Patron's own work costs.
 */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char body[] = "{\"ok\":true}";

static int usage(FILE *out)
{
	fprintf(out, "usage: patron-fixed-server [--port P] [--threads T]\n"
	             "  --port P     listen on 127.0.0.1:P (default 0: any free port)\n"
	             "  --threads T  libmicrohttpd polling threads (default 2)\n"
	             "Prints \"port N\" once listening; runs until SIGTERM or SIGINT.\n");
	return out == stdout ? 0 : 2;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	static int seen;
	struct MHD_Response *resp = cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	/* Answering before the body is read would make libmicrohttpd close the connection, and
	 * POSTs would then measure reconnects: take the whole body first, as Patron does. */
	if (!*con_cls) {
		*con_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"threads", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	long port = 0, threads = 2;
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_long(optarg, 0, 65535, &port) != 0) {
				fprintf(stderr, "patron-fixed-server: bad --port %s\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_long(optarg, 1, 256, &threads) != 0) {
				fprintf(stderr, "patron-fixed-server: bad --threads %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			return usage(stdout);
		default:
			return usage(stderr);
		}
	}
	if (optind != argc)
		return usage(stderr);

	/* Blocked before the daemon starts, so that its threads inherit the mask and the
	 * signals reach sigwait below. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp || MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES) {
		fprintf(stderr, "patron-fixed-server: cannot create the response\n");
		return 1;
	}

	struct sockaddr_in addr;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL,
	                     NULL, on_request, resp, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	                     MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "patron-fixed-server: cannot listen on 127.0.0.1:%ld: %s\n", port,
		        strerror(errno));
		MHD_destroy_response(resp);
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("port %u\n", info ? (unsigned)info->port : 0u);
	fflush(stdout);

	int sig = 0;
	while (sigwait(&sigs, &sig) != 0)
		;
	MHD_stop_daemon(d);
	MHD_destroy_response(resp);
	return 0;
}
