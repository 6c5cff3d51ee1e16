# The Python origin of the hardening tests: Python's own HTTP server and its
# own cookie parser, http.cookies.SimpleCookie, which ends a pair at white
# space as well as at ";". Its page is marked cacheable by mistake.
#   python3 python_origin.py PORT
import http.cookies
import http.server
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        jar = http.cookies.SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except http.cookies.CookieError:
            pass
        owner = jar["sessionid"].value if "sessionid" in jar else "anonymous"
        body = f"owner={owner}\npath={self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Cache-Control", "no-store" if self.path == "/healthz" else "max-age=60")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
