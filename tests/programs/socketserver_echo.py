"""A socketserver.ThreadingTCPServer: a thread per connection, rfile/wfile (recv_into, sendall)."""
import socketserver


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


with socketserver.ThreadingTCPServer(("127.0.0.1", 9999), Echo) as server:
    server.serve_forever()
