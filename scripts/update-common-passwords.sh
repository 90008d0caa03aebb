#!/bin/sh
# Regenerates data/common-passwords.txt: the 10,000 most common passwords, most common first,
# from the frequency list zxcvbn 4.4.2 ships (MIT; drawn from Xato's 10 million password
# corpus). Run by hand when the list should change; the build only reads the committed file.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent zxcvbn@4.4.2 >/dev/null
tar xzf zxcvbn-4.4.2.tgz
node -e '
const lists = require("./package/lib/frequency_lists.js");
process.stdout.write(lists.passwords.slice(0, 10000).join("\n") + "\n");
' >"$root/data/common-passwords.txt"
wc -l "$root/data/common-passwords.txt"
