#!/usr/bin/env bash
# Installs what building the functions for arm64 (template.yaml's
# architecture) needs, on Debian 12 where rustup cannot add the aarch64
# target: Debian's Rust (rustc-web, cargo-web, from bookworm-security), its
# arm64 standard library, and the aarch64 cross linker. Debian's rustc is
# /usr/bin/rustc; rustup's stays first on PATH. Needs root and apt.
set -euo pipefail
if [[ -d /usr/lib/rustlib/aarch64-unknown-linux-gnu ]] && command -v aarch64-linux-gnu-gcc >/dev/null &&
  command -v qemu-aarch64-static >/dev/null; then
  exit 0
fi
dpkg --add-architecture arm64
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  rustc-web cargo-web libstd-rust-web-dev libstd-rust-web-dev:arm64 \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
