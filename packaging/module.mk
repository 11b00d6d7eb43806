# SPDX-License-Identifier: MIT
# packaging/: deb and rpm build on `make install DESTDIR=...`. Nothing to compile.
