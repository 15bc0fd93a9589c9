#!/usr/bin/env python3
"""An HTTP endpoint for the http output's process tests.

Takes POST requests on 127.0.0.1 (one thread, keep-alive). Answers 500 to
the first --fail-first requests and 200 to the others; appends the body of
every request it answers 200 to --body-file, and one line "<status>
<body bytes>" per request to --status-file, both before it answers. Listens
on --port (0: a free one) and writes the port to --port-file (atomically)
and to standard output once it listens.
"""

import argparse
import http.server
import os
import sys


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--status-file", required=True)
    parser.add_argument("--port-file", required=True)
    return parser.parse_args()


def append(path, data):
    with open(path, "ab") as f:
        f.write(data)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the output's curl expects
    requests_seen = 0

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        Handler.requests_seen += 1
        status = 500 if Handler.requests_seen <= self.server.fail_first else 200
        if status == 200:
            append(self.server.body_file, body)
        append(self.server.status_file, f"{status} {len(body)}\n".encode())
        answer = b"failing on purpose\n" if status == 500 else b"ok\n"
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format, *args):
        pass


def main():
    args = parse_args()
    server = http.server.HTTPServer(("127.0.0.1", args.port), Handler)
    server.fail_first = args.fail_first
    server.body_file = args.body_file
    server.status_file = args.status_file
    port = server.server_address[1]
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write(f"{port}\n")
    os.replace(temporary, args.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
