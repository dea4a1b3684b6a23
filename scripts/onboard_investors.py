"""Onboard investors from a CSV (wallet,country,kyc_expiry[,category,label,investor]): investors registered in
batches, a row with `investor` adds a further wallet to that investor, already-registered investors only get their
changed fields updated (a category left out is kept).

    .venv/bin/python scripts/onboard_investors.py scripts/examples/investors.csv [--network anvil]
"""

from _common import parser, registrar, run

from rwaledger.models import InvestorSpec, load_csv
from rwaledger.render import describe


def main() -> None:
    p = parser(__doc__)
    p.add_argument("csv", help="investors CSV")
    args = p.parse_args()
    investors = load_csv(args.csv, InvestorSpec)  # every row validated first: a bad one names its line and field
    reg = registrar(args)
    print(describe(reg.investors.add_many(investors)))
    for spec in investors:
        info = reg.investors.investor(spec.wallet)
        print(f"  {spec.wallet} {info.country} KYC until {info.kyc_expiry} {spec.label or ''}")


if __name__ == "__main__":
    run(main)
