#!/usr/bin/env bash
# `make bench-blobs`: upload and download throughput of encrypted attachments through a release
# polygated on loopback (POST and GET /v1/blobs, curl as the client), beside the limit on the
# same machine in the same run: curl against Debian's nginx serving (GET) and swallowing (POST)
# the same file. And polygated's RSS while a 1 GiB blob streams in (sampled every 100 ms; its
# peak must stay bounded, not grow with the file). PostgreSQL durable; the blob directory on the
# same disk as everything else. SIZE_MB (default 1024) sets the file.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-daemon.sh
bench_setup
size_mb=${SIZE_MB:-1024}
mkdir -p "$dir/blobs" "$dir/www" "$dir/nginx"
bench_daemon "$bench_limits
[blobs]
directory = \"$dir/blobs\"
max_size = 4294967296
quota_per_user = 17179869184"
head -c "$((size_mb * 1048576))" /dev/urandom > "$dir/www/file.bin"
bytes=$(stat -c %s "$dir/www/file.bin")
token=$("${BIN:-.build/release}"/gateway-benchmark blob-token 127.0.0.1 "$httpport")

rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'; }

before=$(rss_kib "$daemon")
peak=$before
curl -s -o "$dir/upload.json" -w '%{time_total}\n' -X POST -H "Authorization: Bearer $token" \
    -H "Content-Type: application/octet-stream" -T "$dir/www/file.bin" \
    "http://127.0.0.1:$httpport/v1/blobs" > "$dir/upload.time" &
uploader=$!
while kill -0 "$uploader" 2>/dev/null; do
    now=$(rss_kib "$daemon")
    [ "$now" -gt "$peak" ] && peak=$now
    sleep 0.1
done
wait "$uploader"
upload=$(cat "$dir/upload.time")
id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' "$dir/upload.json")
[ -n "$id" ] || { cat "$dir/upload.json"; echo "upload failed" >&2; exit 1; }
download=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$httpport/v1/blobs/$id")

nginxport=$(scripts/pg.sh free-port)
cat > "$dir/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    sendfile on;
    server {
        listen 127.0.0.1:$nginxport;
        root $dir/www;
        client_max_body_size 0;
        # The upload's limit: nginx reads the whole body into a temporary file, then answers.
        location = /upload { client_body_in_file_only clean; client_body_buffer_size 1m; proxy_pass http://127.0.0.1:$nginxport/sink; }
        location = /sink { return 201; }
    }
}
CONF
/usr/sbin/nginx -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log"
trap '/usr/sbin/nginx -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" -s stop 2>/dev/null || true; bench_cleanup' EXIT
sleep 0.3
nginx_down=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$nginxport/file.bin")
nginx_up=$(curl -s -o /dev/null -w '%{time_total}' -X POST -T "$dir/www/file.bin" "http://127.0.0.1:$nginxport/upload")

echo "file: $bytes bytes ($size_mb MiB)"
echo "upload   polygated: ${upload}s, $(mbps "$bytes" "$upload")    nginx (body to a temp file): ${nginx_up}s, $(mbps "$bytes" "$nginx_up")"
echo "download polygated: ${download}s, $(mbps "$bytes" "$download")    nginx (sendfile): ${nginx_down}s, $(mbps "$bytes" "$nginx_down")"
echo "polygated RSS: $((before / 1024)) MiB before the upload, peak $((peak / 1024)) MiB during it (+$(((peak - before) / 1024)) MiB)"
