#!/usr/bin/python3
"""Checks that wna archives hold bitwise-identical datasets (attributes are ignored).

    compare_archives.py [--allow-new] [--moved-axes] A.h5 B.h5 [C.h5 ...]

Every archive is compared with the first. With --allow-new, datasets that only the later
archives have are allowed (a newer wna that adds datasets still reproduces an older archive). Exit 0 and "identical: N datasets" when all match;
otherwise the differing dataset paths per archive and exit 1; exit 2 when an archive cannot
be read. With --moved-axes, A is an archive of format 1 (axes under /axes, before the archives
became netCDF-4 readable) and each /axes/<name> must equal every coordinate variable <name> of
the others. Used to show that runs on different rank counts produce the same archive.
"""

import argparse
import sys

import h5py

from wna_archive import compare_archives, dataset_paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", help="archive the others are compared with")
    parser.add_argument("others", nargs="+", metavar="archive", help="archives to compare with the reference")
    parser.add_argument("--allow-new", action="store_true",
                        help="allow datasets that the reference lacks (every reference dataset must match)")
    parser.add_argument("--moved-axes", action="store_true",
                        help="the reference keeps its axes under /axes (format 1); compare them with the others' "
                             "coordinate variables")
    args = parser.parse_args(argv)

    identical = True
    for other in args.others:
        try:
            differing = compare_archives(args.reference, other, allow_new=args.allow_new,
                                         moved_axes=args.moved_axes)
        except OSError as error:
            print(f"compare_archives.py: cannot read {args.reference} or {other}: {error}", file=sys.stderr)
            return 2
        if differing:
            identical = False
            print(f"{other} differs from {args.reference} in {len(differing)} datasets:")
            for path in differing:
                print(f"  {path}")
    if not identical:
        return 1
    with h5py.File(args.reference, "r") as reference:
        print(f"identical: {len(dataset_paths(reference))} datasets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
