# polygate — see README.md. `make run` and `make test` set up everything they need.
SHELL := /bin/bash
SWIFT ?= swift

# Debian packages: the C libraries we link, PostgreSQL (server for run/test),
# systemd (systemd-socket-activate and systemd-journald for tests), man-db (man pages are
# rendered by the tests), openssl (throwaway certificate authorities for the TLS tests), nginx
# and curl (the shipped reverse-proxy example, tested end to end).
APT_PACKAGES := libpq-dev libssl-dev libsodium-dev libsystemd-dev libreadline-dev pkg-config \
                postgresql systemd man-db openssl nginx curl python3 python3-venv
# For the tests only: headless Chromium driven by Selenium, and a font for it to render text
# with (the web client's browser test, Tests/Browser/web_client.py).
TEST_APT_PACKAGES := chromium chromium-driver python3-selenium fonts-liberation

.PHONY: all deps deb deb-test install build build-tests test lint run soak fuzz release bench-store bench-crypto bench-mls bench-mls-compare bench-social bench-gateway bench-presence bench-tls bench-sealed bench-blobs bench-realtime bench-control bench-append conformance proto conf format clean

all: build

# What `make format` rewrites and `make lint` (part of `make test`) checks.
FORMATTED := Sources Tests Benchmarks Fuzz Package.swift

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	$(SWIFT) build --product polygated
	$(SWIFT) build --product polychat
	$(SWIFT) build --product gwctl

build-tests: deps
	@scripts/install-deps.sh $(TEST_APT_PACKAGES)
	$(SWIFT) build --build-tests

## test: check the formatting, build everything, start a throwaway PostgreSQL, run all tests, stop it.
test: lint build-tests
	scripts/test.sh

## lint: `swift format lint` against the repository's own settings (.swift-format); any warning fails.
lint:
	$(SWIFT) format lint --strict --recursive --parallel $(FORMATTED)

## soak: the fault suite's long form (docs/RELIABILITY.md): 100,000 numbered messages through two
## polygated on a durable PostgreSQL of its own, with 10 kill -9, 3 database crashes and 2 outages
## of 20 s; exit 1 if any acknowledged message was lost. Options: make soak ARGS="--messages N
## --kills K --outages O …" (fault-soak --help).
soak: deps
	$(SWIFT) build --product polygated
	$(SWIFT) build --product fault-soak
	.build/debug/fault-soak $(ARGS)

## fuzz: libFuzzer targets with AddressSanitizer (Fuzz/, docs/RELIABILITY.md), built in .build/fuzz.
## make fuzz TARGET=mls SECONDS=600; TARGET=all (default) runs each of mls, gateway,
## polycentric, control, config for SECONDS (default 30).
TARGET ?= all
SECONDS ?= 30
fuzz: deps
	scripts/fuzz.sh $(TARGET) $(SECONDS)

## run: build, start a private PostgreSQL under .run/ unless DATABASE_URL or CONFIG is given,
## and run polygated in the foreground on 127.0.0.1:8080.
run: build
	scripts/run.sh

## bench-social: signed events/s through POST /events of a release polygated, with the CPU per event of polygated
## and PostgreSQL against verifying the signatures alone (numbers in docs/BENCHMARKS.md).
bench-social: deps
	@scripts/install-deps.sh curl
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product social-benchmark
	scripts/bench-social.sh

## bench-realtime: DMs, rooms of 10 and 100 on a durable PostgreSQL beside pgbench's raw INSERT rate
## on the same cluster; closed loop, then open loop at half its rate (scripts/bench-realtime.sh;
## CONNECTIONS, GROUP_SIZES, RUN_SECONDS, PGBENCH_CLIENTS).
bench-realtime: deps
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	scripts/bench-realtime.sh

## bench-blobs: upload and download of a 1 GiB blob through a release polygated beside nginx and curl on
## the same machine, and polygated's RSS while it streams in (scripts/bench-blobs.sh; SIZE_MB).
bench-blobs: deps
	@scripts/install-deps.sh curl nginx
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	scripts/bench-blobs.sh

## bench-tls: the same gateway load through polygated's native TLS listener and through plain TCP
## in one run (scripts/bench-tls.sh; ARGS="CONNECTIONS GROUP SECONDS", default 2000 100 10; RATES="0 250").
bench-tls: deps
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	scripts/bench-tls.sh $(ARGS)

## bench-sealed: the same gateway load over plain and over sealed sessions (Noise inside the WebSocket)
## in one run (scripts/bench-tls.sh with MODES="plain sealed"; ARGS and RATES as for bench-tls).
bench-sealed: deps
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	MODES="plain sealed" scripts/bench-tls.sh $(ARGS)

## bench-gateway: 10k WebSocket connections on a release polygated, groups of 10, 10 s of load
## (connections held, delivered msgs/s, send→receive p50/p99, RSS per connection; docs/BENCHMARKS.md).
## Arguments: make bench-gateway ARGS="CONNECTIONS GROUP SECONDS".
bench-gateway: deps
	@scripts/install-deps.sh curl
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	scripts/bench-gateway.sh $(ARGS)

## bench-presence: 10k leases, 50 watchers each, 1,000 presence changes/s for 10 s (updates/s,
## latency, memory per lease and per watch; docs/BENCHMARKS.md). ARGS="USERS WATCHERS SECONDS RATE".
bench-presence: deps
	@scripts/install-deps.sh curl
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gateway-benchmark
	MODE=presence scripts/bench-gateway.sh $(ARGS)

## bench-control: control-socket round trips of gwctl's commands on 10k conversations, and
## one-shot gwctl runs, against a release polygated (docs/BENCHMARKS.md). ARGS="CONVERSATIONS ROUNDS".
bench-control: deps
	@scripts/install-deps.sh curl
	$(SWIFT) build -c release --product polygated
	$(SWIFT) build -c release --product gwctl
	$(SWIFT) build -c release --product control-benchmark
	scripts/bench-control.sh $(ARGS)

## proto: regenerate the generated protobuf Swift (Polycentric, GatewayWire) from proto/
## (needs Debian's protobuf-compiler; builds swift-protobuf's protoc-gen-swift, about 1.5 minutes).
proto: deps
	@scripts/install-deps.sh protobuf-compiler
	$(SWIFT) build -c release --product protoc-gen-swift
	protoc --plugin=protoc-gen-swift=.build/release/protoc-gen-swift \
	    --swift_opt=Visibility=Public --swift_opt=UseAccessLevelOnImports=true \
	    --swift_out=Sources/Polycentric/Generated -Iproto/polycentric proto/polycentric/protocol.proto
	protoc --plugin=protoc-gen-swift=.build/release/protoc-gen-swift \
	    --swift_opt=Visibility=Public --swift_opt=UseAccessLevelOnImports=true \
	    --swift_out=Sources/GatewayWire/Generated -Iproto/polygate proto/polygate/gateway.proto

## deb: the Debian package, from this tree, into dist/ (polygate_VERSION_ARCH.deb).
deb: deps
	@scripts/install-deps.sh debhelper lintian
	scripts/deb.sh

## deb-test: builds the package, lintian, installs it here (root), starts the installed daemon by
## socket activation, gwctl status, purges it (scripts/deb-test.sh). CI runs it after make test.
deb-test: deps
	@scripts/install-deps.sh debhelper lintian curl adduser
	scripts/deb-test.sh

## install: for systems without dpkg — the release binaries, configuration (kept when present),
## units and man pages under DESTDIR/PREFIX. Create the polygate user and groups and the
## database yourself (see debian/polygate.postinst for what the package does).
PREFIX ?= /usr
DESTDIR ?=
install: release
	install -D -m 0755 .build/release/polygated $(DESTDIR)$(PREFIX)/sbin/polygated
	install -D -m 0755 .build/release/gwctl $(DESTDIR)$(PREFIX)/sbin/gwctl
	install -D -m 0755 .build/release/polychat $(DESTDIR)$(PREFIX)/bin/polychat
	[ -e $(DESTDIR)/etc/polygate/polygated.conf ] || install -D -m 0640 etc/polygate/polygated.conf $(DESTDIR)/etc/polygate/polygated.conf
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	for unit in polygated.service polygated.socket polygated-control.socket; do \
	    sed 's|/usr/sbin/|$(PREFIX)/sbin/|' systemd/$$unit > $(DESTDIR)$(PREFIX)/lib/systemd/system/$$unit; done
	for page in man/*.[1-8]; do \
	    install -D -m 0644 $$page $(DESTDIR)$(PREFIX)/share/man/man$${page##*.}/$${page##*/}; done

## release: static-stdlib release binaries, as the .deb ships them.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib -Xlinker -z -Xlinker now --product polygated
	$(SWIFT) build -c release --static-swift-stdlib -Xlinker -z -Xlinker now --product gwctl
	$(SWIFT) build -c release --static-swift-stdlib -Xlinker -z -Xlinker now --product polychat

## bench-append: the append statement (gw_append) now and before (migration 0006), by pgbench on a
## durable PostgreSQL, in a DM and in a room of 1,000 (docs/BENCHMARKS.md). ARGS="SECONDS".
bench-append: deps
	$(SWIFT) build --product polygated
	scripts/bench-append.sh $(ARGS)

## bench-store: Store throughput/latency against a private PostgreSQL (numbers in docs/BENCHMARKS.md).
bench-store: deps
	$(SWIFT) build -c release --product store-benchmark
	scripts/bench-store.sh

## bench-crypto: ops/s of HPKE, signatures and PrivateMessage per MLS cipher suite.
bench-crypto: deps
	$(SWIFT) build -c release --product crypto-benchmark
	.build/release/crypto-benchmark 3

## bench-mls: commit create/process and Welcome join for groups of 16, 64, 128, 1,000 and 10,000 members.
bench-mls: deps
	$(SWIFT) build -c release --product mls-benchmark
	.build/release/mls-benchmark

## bench-mls-compare: polygate's commit create/process against AWS mls-rs (PyPI agentvault-mls-rs-uniffi)
## in one run on the same fixtures (scripts/bench-mls-compare.sh; SIZES="16 128 1000", RUNS=10).
bench-mls-compare: deps
	$(SWIFT) build -c release --product mls-benchmark
	scripts/bench-mls-compare.sh

## conformance: run the mlswg vector files through mls-conformance.
conformance: deps
	$(SWIFT) build --product mls-conformance
	.build/debug/mls-conformance Tests/Vectors/mls/*.json

## conf: regenerate etc/polygate/polygated.conf from the table of configuration keys
## (polygated default-config; a test fails when the shipped file differs).
conf: deps
	$(SWIFT) build --product polygated
	.build/debug/polygated default-config > etc/polygate/polygated.conf

format:
	$(SWIFT) format --in-place --recursive --parallel $(FORMATTED)

clean:
	rm -rf .build .run
