"""Tokenize a property (or commodity) from a spec file: register the asset, create its token, apply its rules,
record its documents (hashed here), attest its lots.

    .venv/bin/python scripts/tokenize_property.py scripts/examples/lahore-apartment.toml [--network anvil]
"""

from _common import parser, registrar, run

from rwaledger.models import load_spec
from rwaledger.render import describe


def main() -> None:
    p = parser(__doc__)
    p.add_argument("spec", help="TOML or JSON asset spec")
    args = p.parse_args()
    spec = load_spec(args.spec)  # validated before anything touches the chain
    reg = registrar(args)
    outcome = reg.assets.register(spec)
    print(f"{outcome.status}: {describe(outcome)}")
    for step in map(describe, outcome.done_steps):
        print(f"  {step}")
    info = reg.assets.asset(outcome.facts["asset_id"])
    print(f"asset #{info.asset_id} {info.symbol} ({info.kind}, {info.jurisdiction}): token {info.token}, "
          f"{info.total_supply}/{info.max_supply} issued, status {info.status}")


if __name__ == "__main__":
    run(main)
