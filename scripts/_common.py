"""What the registrar scripts share: a --network option and an opened registrar."""

import argparse
import sys

from rwaledger.errors import RwaError
from rwaledger.services import Services
from rwaledger.session import open_session
from rwaledger.stack import deploy_stack


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--network", "-n", default="anvil",
                   help="anvil (the `rwa node` node, or a fresh one), tester (in-process, gone when the script ends) or a URL")
    p.add_argument("--keystore", help="encrypted keystore to sign with (password in RWA_KEYSTORE_PASSWORD)")
    return p


def registrar(args) -> Services:
    """The registrar on the deployed stack (deployed, or reused from deployments/, on first use)."""
    session = open_session(args.network, keystore=args.keystore)
    return Services(deploy_stack(session))


def run(main) -> None:
    """Run a script's main; library errors become one line and exit code 1."""
    try:
        main()
    except RwaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
