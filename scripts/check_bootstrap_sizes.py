"""Fails when a bootstrap built by `sam build` is larger than the limit (MiB), after stripping."""
import os
import shutil
import subprocess
import sys
import tempfile

build_dir, limit_mib = sys.argv[1], float(sys.argv[2])
found, too_big = 0, []
for dirpath, _dirs, files in os.walk(build_dir):
    if "bootstrap" in files:
        found += 1
        path = os.path.join(dirpath, "bootstrap")
        with tempfile.TemporaryDirectory() as tmp:
            stripped = os.path.join(tmp, "bootstrap")
            shutil.copy(path, stripped)
            subprocess.run(["strip", stripped], check=True)
            size = os.path.getsize(stripped)
        print(f"{os.path.relpath(path, build_dir)}: {size / 2**20:.2f} MiB stripped")
        if size > limit_mib * 2**20:
            too_big.append(path)
if found == 0:
    sys.exit(f"no bootstrap found under {build_dir}")
if too_big:
    sys.exit(f"bootstraps over {limit_mib} MiB: {', '.join(too_big)}")
