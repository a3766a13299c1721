"""Fails when the handler crates would not share their dependency builds under `sam build`.

`sam build` runs `cargo lambda build --release --bin <crate>` in each handler crate's
folder, and cargo resolves features for that crate alone. A package that two handler
crates use with different features is compiled once for each (and so is every package
above it, the AWS SDK included): a cold build then compiles the SDK four times. This
resolves each handler crate as `sam build` does and lists every package whose features
differ between them; the cure is to ask for the feature in handlers/deps/Cargo.toml.

    python3 scripts/check_shared_builds.py [target triple]
"""
import json
import os
import subprocess
import sys

target = sys.argv[1] if len(sys.argv) > 1 else "x86_64-unknown-linux-gnu"
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout
)
# The crates `sam build` builds: the handlers' members with a binary.
crates = sorted(
    os.path.dirname(package["manifest_path"])
    for package in metadata["packages"]
    if os.path.relpath(package["manifest_path"], root).startswith("handlers" + os.sep)
    and any("bin" in t["kind"] for t in package["targets"])
)
if len(crates) < 2:
    sys.exit(f"expected the handler crates under handlers/, found {crates}")


def features(crate):
    """package -> its resolved features, as `cargo lambda build` in `crate` resolves them."""
    out = subprocess.run(
        ["cargo", "tree", "--locked", "-e", "normal", "--target", target,
         "--prefix", "none", "--format", "{p}|{f}"],
        cwd=crate, check=True, capture_output=True, text=True,
    ).stdout
    resolved = {}
    for line in out.splitlines():
        package, _, feats = line.partition("|")
        # `cargo tree` marks a package it already printed with "(*)".
        resolved[package.removesuffix(" (*)").split(" (")[0]] = feats.removesuffix(" (*)")
    return resolved


resolved = {os.path.relpath(crate, root): features(crate) for crate in crates}
differ = []
for package in sorted(set().union(*resolved.values())):
    seen = {crate: feats[package] for crate, feats in resolved.items() if package in feats}
    if len(set(seen.values())) > 1:
        differ.append(package)
        print(f"{package}: features differ", file=sys.stderr)
        for crate, feats in seen.items():
            print(f"    {crate}: {feats or '(none)'}", file=sys.stderr)
if differ:
    sys.exit(
        f"{len(differ)} packages resolve differently in {', '.join(resolved)}, so `sam build` "
        "compiles them (and what depends on them) once per crate: ask for the features "
        "in handlers/deps/Cargo.toml"
    )
shared = set.intersection(*(set(feats) for feats in resolved.values()))
print(f"{len(resolved)} handler crates resolve the same features; {len(shared)} packages shared")
