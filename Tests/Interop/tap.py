#!/usr/bin/env python3
"""A TCP tap for the capture test of sealed sessions (ProxyTests): listens on 127.0.0.1:PORT,
forwards every connection to 127.0.0.1:UPSTREAM, and records what passes, each connection and
direction in a file of its own under DIRECTORY (N.up: towards the upstream, N.down: back), so
that a pattern is never split by another connection's bytes. Standard library only.

Usage: tap.py PORT UPSTREAM DIRECTORY   (prints "listening" once it accepts connections)
"""

import os
import socket
import sys
import threading


def pump(source, sink, path):
    with open(path, "ab", buffering=0) as record:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                record.write(data)
                sink.sendall(data)
        except OSError:
            pass
    for sock in (sink, source):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    port, upstream, directory = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(directory, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    print("listening", flush=True)
    count = 0
    while True:
        client, _ = listener.accept()
        count += 1
        server = socket.create_connection(("127.0.0.1", upstream))
        base = os.path.join(directory, str(count))
        threading.Thread(target=pump, args=(client, server, base + ".up"), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, base + ".down"), daemon=True).start()


if __name__ == "__main__":
    main()
