#!/usr/bin/env python3
"""An independent sealed-session client (docs/GATEWAY_SPEC.md section 14), written from the
spec with the `noiseprotocol` package from PyPI and Python's `cryptography`; nothing of
polygate's code. Used by GatewaySealedInteropTests (make test installs the packages into
.build/pyvenv: scripts/pyvenv.sh).

    sealed_client.py PORT [--key HEX] [--flip]

Connects to ws://127.0.0.1:PORT/v1/sealed with the key GET /v1/info lists (or --key), runs
Noise_NK_25519_ChaChaPoly_SHA256, reads the sealed Challenge, pings, authenticates a new device
(registering it) with the signature bound to the handshake hash, and prints one line per step.
With --flip, the sealed Authenticate is sent with one bit flipped: the gateway must close the
connection with 4400. Exit status 0 when every step went as the spec says.
"""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from noise.connection import Keypair, NoiseConnection

BUCKETS = [256, 1024, 4096, 16384, 65536]
CHUNK = 65535 - 16


# --- protobuf, by hand (proto/polygate/gateway.proto) -------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_bytes(number, value):
    return varint(number << 3 | 2) + varint(len(value)) + value


def field_varint(number, value):
    return varint(number << 3 | 0) + varint(value)


def parse(message):
    """{field number: [values]} (bytes for length-delimited, ints for varints)."""
    fields, i = {}, 0
    while i < len(message):
        key, i = read_varint(message, i)
        number, kind = key >> 3, key & 7
        if kind == 0:
            value, i = read_varint(message, i)
        elif kind == 2:
            length, i = read_varint(message, i)
            value, i = message[i:i + length], i + length
        elif kind == 1:
            value, i = message[i:i + 8], i + 8
        elif kind == 5:
            value, i = message[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % kind)
        fields.setdefault(number, []).append(value)
    return fields


def read_varint(data, i):
    shift = result = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7


# --- WebSocket, by hand (RFC 6455) ---------------------------------------------------------------

class WebSocket:
    def __init__(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise SystemExit("no upgrade: %r" % head[:80])

    def recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the gateway closed the connection")
        return data

    def send(self, payload, opcode=2):
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def message(self):
        """(opcode, payload) of the next whole message (continuations joined)."""
        data, first = b"", None
        while True:
            while True:
                frame = self.frame()
                if frame is not None:
                    break
                self.buffer += self.recv()
            fin, opcode, payload = frame
            if opcode == 9:  # ping
                self.send(payload, opcode=10)
                continue
            if first is None:
                first = opcode
            data += payload
            if fin:
                return first, data

    def frame(self):
        b = self.buffer
        if len(b) < 2:
            return None
        fin, opcode, length, offset = b[0] & 0x80, b[0] & 0x0F, b[1] & 0x7F, 2
        if length == 126:
            if len(b) < 4:
                return None
            length, offset = struct.unpack(">H", b[2:4])[0], 4
        elif length == 127:
            if len(b) < 10:
                return None
            length, offset = struct.unpack(">Q", b[2:10])[0], 10
        if len(b) < offset + length:
            return None
        self.buffer = b[offset + length:]
        return fin, opcode, b[offset:offset + length]


# --- the sealed channel (section 14.3) -----------------------------------------------------------

def padded_size(count):
    needed = count + 4
    for bucket in BUCKETS:
        if bucket >= needed:
            return bucket
    return -(-needed // BUCKETS[-1]) * BUCKETS[-1]


def seal(noise, frame):
    plaintext = struct.pack(">I", len(frame)) + frame
    plaintext += b"\0" * (padded_size(len(frame)) - len(plaintext))
    return b"".join(noise.encrypt(plaintext[i:i + CHUNK]) for i in range(0, len(plaintext), CHUNK))


def open_sealed(noise, message):
    plaintext = b"".join(noise.decrypt(message[i:i + 65535]) for i in range(0, len(message), 65535))
    (length,) = struct.unpack(">I", plaintext[:4])
    return plaintext[4:4 + length]


def main():
    port = int(sys.argv[1])
    info = json.load(urllib.request.urlopen("http://127.0.0.1:%d/v1/info" % port, timeout=10))
    sealed = info["sealed"]
    assert sealed["protocol"] == "Noise_NK_25519_ChaChaPoly_SHA256", sealed
    key = bytes.fromhex(sys.argv[sys.argv.index("--key") + 1] if "--key" in sys.argv else sealed["keys"][0]["key"])

    ws = WebSocket(port, sealed["websocket"])
    noise = NoiseConnection.from_name(b"Noise_NK_25519_ChaChaPoly_SHA256")
    noise.set_as_initiator()
    noise.set_prologue(b"polygate sealed v1")
    noise.set_keypair_from_public_bytes(Keypair.REMOTE_STATIC, key)
    noise.start_handshake()
    ws.send(noise.write_message(b""))
    opcode, answer = ws.message()
    if opcode == 8:
        print("refused: close %d" % struct.unpack(">H", answer[:2])[0])
        return 0 if "--key" in sys.argv else 1
    hello = parse(noise.read_message(answer))
    keys = [parse(k)[1][0].hex() for k in hello.get(1, [])]
    assert noise.handshake_finished
    h = noise.get_handshake_hash()
    print("handshake done: %d keys, the first %s" % (len(keys), "is the pinned one" if keys[0] == key.hex() else "differs"))

    opcode, message = ws.message()
    frame = parse(open_sealed(noise, message))
    challenge = parse(frame[1][0])
    nonce, gateway_id = challenge[1][0], challenge[2][0].decode()
    print("challenge: gateway %s, nonce of %d bytes" % (gateway_id, len(nonce)))

    ws.send(seal(noise, field_bytes(4, field_varint(1, 4242))))  # ClientFrame{ping{client_time_ms}}
    opcode, message = ws.message()
    pong = parse(parse(open_sealed(noise, message))[8][0])
    print("pong: client_time_ms %d" % pong[1][0])

    system = Ed25519PrivateKey.generate()
    device = Ed25519PrivateKey.generate()
    raw = lambda k: k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    now = int(time.time() * 1000)
    certificate = (field_bytes(1, raw(system)) + field_bytes(2, raw(device)) + field_varint(3, now)
                   + field_bytes(5, b"python interop"))
    signed = field_bytes(1, certificate) + field_bytes(
        2, system.sign(b"polygate device certificate v1\0" + certificate))
    transcript = b"polygate sealed auth v1\0" + gateway_id.encode() + b"\0" + nonce + h
    authenticate = field_bytes(1, signed) + field_bytes(2, device.sign(transcript)) + field_varint(3, 1)
    sealed_frame = seal(noise, field_varint(1, 1) + field_bytes(2, authenticate))
    if "--flip" in sys.argv:
        sealed_frame = sealed_frame[:-1] + bytes([sealed_frame[-1] ^ 1])
        ws.send(sealed_frame)
        while True:
            opcode, message = ws.message()
            if opcode == 8:
                code = struct.unpack(">H", message[:2])[0]
                print("closed: %d" % code)
                return 0 if code == 4400 else 1
    ws.send(sealed_frame)
    opcode, message = ws.message()
    response = parse(parse(open_sealed(noise, message))[2][0])
    if 2 in response:
        print("refused: %s" % parse(response[2][0]).get(2, [b"?"])[0].decode())
        return 1
    auth = parse(response[10][0])
    print("authenticated: user %s, device %s, resume token of %d bytes" % (
        auth[1][0].hex(), "matches" if auth[2][0] == raw(device) else "differs", len(auth[3][0])))
    ws.send(b"\x03\xe8", opcode=8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
