"""Pay a rent distribution: entitlements pro rata to the cap table at the record block (default: now), a Merkle
tree, funding in a stablecoin, and a claim for every holder.

    .venv/bin/python scripts/rent_distribution.py LHR-GH12B 425000000000 --stablecoin 0x... [--network anvil]

Without --stablecoin (local chains only) a test stablecoin is deployed and minted to the registrar.
"""

import datetime as dt

from _common import parser, registrar, run

from rwaledger.errors import RwaError
from rwaledger.render import describe


def main() -> None:
    p = parser(__doc__)
    p.add_argument("asset", help="symbol, id or token address")
    p.add_argument("amount", type=int, help="total rent in the stablecoin's smallest unit")
    p.add_argument("--stablecoin", help="payment token address")
    p.add_argument("--record-block", type=int)
    p.add_argument("--expiry-days", type=int, default=90)
    args = p.parse_args()
    if args.amount <= 0:
        raise RwaError("amount must be positive")
    reg = registrar(args)
    session = reg.session
    pay = args.stablecoin
    if pay is None:
        if not session.chain.is_dev:
            raise RwaError("--stablecoin is required on a real network")
        coin = session.deployer.deploy("TestStablecoin")
        session.tx.transact(coin.functions.mint(session.signer.address, args.amount))
        pay = coin.address
    expiry = dt.datetime.fromtimestamp(session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=args.expiry_days)
    outcome = reg.distributions.distribute(args.asset, pay, args.amount, expiry, args.record_block)
    print(describe(outcome))
    dist_id = outcome.facts["distribution_id"]
    for _, holder, amount in reg.distributions.plan(dist_id).entries:
        reg.distributions.claim(dist_id, holder)  # anyone may submit a claim; the payment goes to the holder
        print(f"  {holder} claimed {amount:,}")


if __name__ == "__main__":
    run(main)
