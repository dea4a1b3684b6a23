"""The off-chain ledger (rwaledger.ledger): sync, projections, queries, resume, reorgs, reconcile, export, and
the investor model (investors own wallets; labels are off-chain and private).

The module deploys its own stack with its own funded keys (so nothing another test module registered or
minted can collide with it) once per chain; every test runs inside a snapshot (``isolation``) and syncs a
fresh database: a test of the ledger's behaviour runs on each backend (``ledger_url``: a SQLite file, or a new
database on the PostgreSQL server the plugin starts), a test about SQLite files on SQLite only.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import keccak
from sqlalchemy import select, text, update

from rwaledger.ledger import Ledger, LedgerError, LedgerMismatch, SchemaVersionError, UnknownAsset, schema
from rwaledger.ledger import export as ledger_export
from rwaledger.ledger.sync import Indexer
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack
from rwaledger.encoding import b32

PK, AE, GB, US = 586, 784, 826, 840
ETH = 10**18
ZERO = "0x" + "00" * 20


def refs(tag: str, n: int) -> list[bytes]:
    """One allocation reference per recipient of a batch."""
    return [b32(f"{tag}-{i}") for i in range(n)]


def fresh_signer(chain, label: str) -> Signer:
    account = Account.from_key(keccak(text=f"rwaledger ledger tests {label}"))
    chain.set_balance(account.address, 1000 * ETH)
    return Signer(account, label)


@dataclass
class Env:
    chain: object
    session: object
    stack: object
    admin: Signer
    inv: list[Signer]
    senders: dict
    prop: object  # property token contract
    prop_id: int
    comm: object
    comm_id: int
    start: int  # ledger start block (before the stack)

    @property
    def tx(self):
        return self.session.tx

    @property
    def ir(self):
        return self.stack.identity.functions

    def sender(self, i: int):
        """A transactor for wallet ``i`` (kept per env: its nonce cache follows chain reverts by epoch)."""
        if i not in self.senders:
            self.senders[i] = self.session.transactor(self.inv[i])
        return self.senders[i]

    @property
    def w(self) -> list[str]:
        return [s.address for s in self.inv]

    def new_property(self, symbol: str, legal: str, decimals: int = 0, cap: int = 1000):
        """A further property token, already Active (tokens mint only while their asset is Active)."""
        now = self.chain.timestamp()
        self.tx.transact(self.stack.factory.functions.createPropertyToken(
            (b"PK", legal, legal.title(), f"ipfs://{legal.lower()}", 0, b"PKR", now),
            (f"Ledger {symbol}", symbol, decimals, cap, PK)))
        asset_id = self.stack.registry.functions.assetCount().call()
        self.tx.transact(self.stack.registry.functions.setStatus(asset_id, 1))
        return self.stack.token(self.stack.registry.functions.tokenOf(asset_id).call(), "property")


@pytest.fixture(scope="module")
def env(chain, rwa_build) -> Env:
    start = chain.w3.eth.block_number + 1
    admin = fresh_signer(chain, "admin")
    session = open_session(chain=chain, build=rwa_build, signer=admin, record=False)
    stack = deploy_stack(session)
    inv = [fresh_signer(chain, f"investor {i}") for i in range(8)]
    tx = session.tx
    expiry = chain.timestamp() + 10 * 365 * 86400
    # investors 0..4 registered (each with its first wallet); wallets 5..7 belong to no investor yet (5 replaces
    # 4's lost wallet in the recovery scenario, 6 and 7 become further wallets)
    tx.transact(stack.identity.functions.batchRegisterIdentity(
        [s.address for s in inv[:5]], [PK, AE, GB, PK, US], [expiry] * 5, [1, 2, 3, 1, 2]))
    now = chain.timestamp()
    tx.transact(stack.factory.functions.createPropertyToken(
        (b"PK", "LEDGER-TEST-P", "Ledger test P, plot 12", "ipfs://ledger-p", 5_000_000_00, b"PKR", now),
        ("Ledger Test Tower", "LDGP", 0, 1_000_000, PK)))
    tx.transact(stack.factory.functions.createCommodityToken(
        (b"AE", "LEDGER-TEST-C", "Ledger – test C", "ipfs://ledger-c", 0, bytes(3), 0),  # no valuation
        ("Ledger Gold", "LDGC", 3, "gram", AE)))
    count = stack.registry.functions.assetCount().call()
    prop_id, comm_id = count - 1, count
    for asset_id in (prop_id, comm_id):
        tx.transact(stack.registry.functions.setStatus(asset_id, 1))  # Active: tokens mint only then
    prop = stack.token(stack.registry.functions.tokenOf(prop_id).call(), "property")
    comm = stack.token(stack.registry.functions.tokenOf(comm_id).call(), "commodity")
    return Env(chain, session, stack, admin, inv, {}, prop, prop_id, comm, comm_id, start)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    yield


@pytest.fixture
def ledger(ledger_url):
    with Ledger.open(ledger_url) as led:
        yield led


def sync(ledger: Ledger, env: Env, **kw):
    return ledger.sync(env.stack, from_block=env.start, **kw)


def chain_balance(token, wallet, block="latest") -> int:
    return token.functions.balanceOf(wallet).call(block_identifier=block)


def mint_basics(env: Env) -> int:
    """Mint the property to investors 0..3 (one reference per allocation); returns the block."""
    r = env.tx.transact(env.prop.functions.batchMint(env.w[:4], [400, 300, 200, 100], refs("mint-basics", 4)))
    return r.block_number


def full_scenario(env: Env) -> None:
    """At least one of every event the stack emits that the ledger projects (and most others)."""
    tx, ir, s, w, p, c = env.tx, env.ir, env.stack, env.w, env.prop, env.comm
    now = env.chain.timestamp()
    mint_basics(env)
    tx.transact(p.functions.batchMint(w[:4], [400, 300, 200, 100], refs("mint-basics", 4)))  # re-sent: skipped
    tx.transact(p.functions.mint(w[4], 50, b32("mint-4")))
    env.sender(0).transact(p.functions.transfer(w[1], 40))
    tx.transact(p.functions.forcedTransfer(w[1], w[2], 10, b32("court-1"), False))
    tx.transact(p.functions.burn(w[3], 20, b32("burn-1"), False))
    tx.transact(p.functions.setAddressFrozen(w[2], True))
    tx.transact(p.functions.setAddressFrozen(w[2], False))
    tx.transact(p.functions.freezePartialTokens(w[2], 5))
    tx.transact(p.functions.unfreezePartialTokens(w[2], 5))
    tx.transact(p.functions.createLien(w[0], w[1], 30, b32("loan-1"), keccak(b"lien doc")))
    tx.transact(p.functions.changeLienBeneficiary(1, w[2]))
    tx.transact(p.functions.releaseLien(1))
    tx.transact(p.functions.setMaxHolders(100))
    tx.transact(p.functions.setMaxBalance(900_000))
    tx.transact(p.functions.setCountriesListed([PK, AE, GB, US], True))
    tx.transact(p.functions.setCountryRestriction(1))
    tx.transact(p.functions.setLockupUntil(0))
    tx.transact(p.functions.setCategoryHolderCaps(100, 100, 100))
    tx.transact(p.functions.setForeignCaps(100, 10_000))
    # investors and wallets: updates (and a recount), a second wallet, a removed wallet, a replaced lost wallet
    # (registry, then tokens), a deletion
    tx.transact(ir.updateCountry(w[0], AE))
    tx.transact(ir.updateKycExpiry(w[1], now + 86400 * 800))
    tx.transact(ir.updateCategory(w[2], 2))
    tx.transact(p.functions.syncInvestor(w[2]))
    tx.transact(ir.addWallet(w[0], w[6]))
    env.sender(0).transact(p.functions.transfer(w[6], 25))
    tx.transact(ir.addWallet(w[1], w[7]))
    tx.transact(ir.removeWallet(w[7]))
    tx.transact(ir.replaceWallet(w[4], w[5]))
    tx.transact(p.functions.recoveryAddress(w[4], w[5]))
    tx.transact(ir.deleteIdentity(w[3]))
    # registry
    tx.transact(s.registry.functions.setStatus(env.prop_id, 2))
    tx.transact(s.registry.functions.setStatus(env.prop_id, 1))
    tx.transact(s.registry.functions.updateValuation(env.prop_id, 6_000_000_00, b"PKR", now))
    tx.transact(s.registry.functions.setMetadataURI(env.prop_id, "ipfs://ledger-p-v2"))
    tx.transact(s.registry.functions.addDocument(env.prop_id, "title-deed", "ipfs://deed", keccak(b"deed"), now, 0))
    # commodity: lots, mint, redemptions
    tx.transact(c.functions.attestLot(b32("LOT-1"), "Dubai vault", 10_000, keccak(b"receipt-1")))
    tx.transact(c.functions.attestLot(b32("LOT-2"), "Dubai vault", 2_000, keccak(b"receipt-2")))
    tx.transact(c.functions.mint(w[0], 5_000, b32("gold-0")))
    env.sender(0).transact(c.functions.requestRedemption(1_000, b32("deliver-1")))
    tx.transact(c.functions.fulfilRedemption(1, [b32("LOT-1")]))
    env.sender(0).transact(c.functions.requestRedemption(500, b32("deliver-2")))
    tx.transact(c.functions.rejectRedemption(2, b32("no-stock")))
    tx.transact(c.functions.reduceLot(b32("LOT-1"), 100, b32("audit")))
    tx.transact(c.functions.retireLot(b32("LOT-2"), b32("moved")))
    # a distribution on the property, paid in a test stablecoin: investor 0 claims, 1's entitlement is withheld,
    # the remainder is reclaimed
    usd = env.session.deployer.deploy("TestStablecoin")
    tx.transact(usd.functions.mint(env.admin.address, 1_000_000))
    tx.transact(usd.functions.approve(s.distributions.address, 1_000))
    leaf = keccak(keccak(abi_encode(["uint256", "address", "uint256"], [0, w[0], 600])))
    other = keccak(keccak(abi_encode(["uint256", "address", "uint256"], [1, w[1], 400])))
    root = keccak(b"".join(sorted([leaf, other])))
    record = env.chain.w3.eth.block_number
    tx.transact(s.distributions.functions.createDistribution(p.address, usd.address, 1_000, root, record, now + 3600))
    env.sender(0).transact(s.distributions.functions.claim(1, 0, w[0], 600, [other]))
    tx.transact(s.distributions.functions.setWithheld(1, [1], True))
    env.chain.advance_time(7200)
    tx.transact(s.distributions.functions.reclaimExpired(1))


def table_dump(ledger: Ledger) -> dict[str, list[tuple]]:
    """Every table's rows without surrogate ids, sorted: equal dumps = equal ledgers."""
    out = {}
    with ledger.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            cols = [c for c in table.columns if c.name != "id"]
            out[table.name] = sorted(tuple(str(v) for v in r) for r in conn.execute(select(*cols)))
    return out


def chain_wallet(env: Env, wallet: str, block="latest") -> tuple[str, int]:
    """(investorOf, walletStatus) of ``wallet`` on chain at ``block``."""
    return (env.ir.investorOf(wallet).call(block_identifier=block),
            env.ir.walletStatus(wallet).call(block_identifier=block))


STATUS_CODE = {"active": 1, "removed": 2, "lost": 3}


# --- sync and projections ----------------------------------------------------------------------------------


def test_sync_records_every_event_and_projects_them(env, ledger):
    full_scenario(env)
    result = sync(ledger, env, batch_blocks=7)
    head = env.chain.w3.eth.block_number
    assert result.to_block == head and ledger.checkpoint().block == head
    assert result.ranges > 5 and result.rollback is None

    # the events table holds exactly the logs the chain has for the stack's contracts and tokens
    addresses = list(env.stack.addresses().values()) + [env.stack.property_impl.address,
                                                        env.stack.commodity_impl.address,
                                                        env.prop.address, env.comm.address]
    logs = env.chain.w3.eth.get_logs({"fromBlock": env.start, "toBlock": head, "address": addresses})
    recorded = ledger.events()
    assert len(recorded) == len(logs) == result.events
    assert {(r.tx_hash, r.log_index) for r in recorded} == {(lg["transactionHash"].to_0x_hex(), lg["logIndex"])
                                                           for lg in logs}
    assert all(r.event is not None for r in recorded), "every log of the stack decodes against its ABI"
    names = {(r.contract_kind, r.event) for r in recorded}
    expected = {
        ("identity", n) for n in ("IdentityRegistered", "CountryUpdated", "KycExpiryUpdated", "CategoryUpdated",
                                  "IdentityRemoved", "WalletAdded", "WalletRemoved", "WalletReplaced")
    } | {
        ("registry", n) for n in ("AssetRegistered", "AssetStatusChanged", "ValuationUpdated", "MetadataURIUpdated",
                                  "DocumentAdded")
    } | {("factory", "PropertyTokenCreated"), ("factory", "CommodityTokenCreated")} | {
        ("property", n) for n in ("Transfer", "Minted", "MintSkipped", "BatchMinted", "Burned", "ForcedTransfer",
                                  "AddressFrozen", "TokensFrozen", "TokensUnfrozen", "LienCreated", "LienReleased",
                                  "LienBeneficiaryChanged", "RecoverySuccess", "WalletStateRecovered",
                                  "HoldingReclassified", "MaxHoldersSet", "MaxBalanceSet", "CountriesListed",
                                  "CountryRestrictionSet", "LockupSet", "CategoryHolderCapsSet", "ForeignCapsSet")
    } | {
        ("commodity", n) for n in ("LotAttested", "LotReduced", "LotRetired", "RedemptionRequested", "LotDrawn",
                                   "RedemptionFulfilled", "RedemptionRejected", "Minted", "Transfer")
    } | {("distributions", n) for n in ("DistributionCreated", "Claimed", "EntitlementsWithheld",
                                        "DistributionReclaimed")}
    assert expected - names == set()

    # events are attributed to their asset
    by_name = {(r.contract_kind, r.event): r for r in recorded}
    w = env.w
    assert by_name[("property", "LienCreated")].asset_id == env.prop_id
    assert by_name[("commodity", "LotRetired")].asset_id == env.comm_id
    assert by_name[("distributions", "Claimed")].asset_id == env.prop_id
    assert by_name[("distributions", "EntitlementsWithheld")].asset_id == env.prop_id
    assert by_name[("distributions", "DistributionReclaimed")].asset_id == env.prop_id
    assert by_name[("registry", "DocumentAdded")].asset_id == env.prop_id
    first_transfer = next(r for r in recorded if r.event == "Transfer")
    assert first_transfer.args == {"from": ZERO, "to": w[0], "value": "400"}  # ints as strings
    assert by_name[("property", "MintSkipped")].args["to"] == w[3]
    assert by_name[("identity", "WalletReplaced")].args == {"investor": w[4], "lostWallet": w[4], "newWallet": w[5]}

    # asset records: symbol and display reference from AssetRegistered, valuation from ValuationUpdated
    p = ledger.asset("LDGP")
    assert (p.asset_id, p.kind, p.token, p.name, p.decimals, p.cap) == (
        env.prop_id, "property", env.prop.address, "Ledger Test Tower", 0, 1_000_000)
    assert (p.jurisdiction, p.legal_reference, p.display_reference, p.status, p.metadata_uri) == (
        "PK", "LEDGER-TEST-P", "Ledger test P, plot 12", "active", "ipfs://ledger-p-v2")
    assert (p.valuation_amount, p.valuation_currency) == (6_000_000_00, "PKR")
    c = ledger.asset(env.comm.address.lower())
    assert (c.kind, c.unit, c.symbol, c.jurisdiction, c.status, c.display_reference) == (
        "commodity", "gram", "LDGC", "AE", "active", "Ledger \u2013 test C")
    assert (c.valuation_amount, c.valuation_currency) == (None, None)  # no valuation, so no ValuationUpdated
    with ledger.engine.connect() as conn:
        registered = [json.loads(a) for (a,) in conn.execute(
            select(schema.events.c.args).where(schema.events.c.event == "AssetRegistered"))]
    assert {a["symbol"] for a in registered} == {"LDGP", "LDGC"}

    # investors and wallets after updates, a second wallet, a removal, a replacement and a deletion
    assert ledger.identity(w[0]).country == "AE"
    assert ledger.identity(w[2]).category == 2
    deleted = ledger.identity(w[3])
    assert (deleted.investor, deleted.wallet_status, deleted.investor_active, deleted.active) == (
        w[3], "active", False, False)
    lost = ledger.identity(w[4])
    assert (lost.investor, lost.wallet_status, lost.active) == (w[4], "lost", False)
    moved = ledger.identity(w[5])
    assert (moved.investor, moved.wallet_status, moved.active, moved.country, moved.category) == (
        w[4], "active", True, "US", 2)
    second = ledger.identity(w[6])
    assert (second.investor, second.country, second.active) == (w[0], "AE", True)
    assert ledger.identity(w[7]).wallet_status == "removed"
    assert [(x.wallet, x.status) for x in ledger.investor_wallets(w[4])] == [(w[4], "lost"), (w[5], "active")]
    assert [(x.wallet, x.status) for x in ledger.investor_wallets(w[1])] == [(w[1], "active"), (w[7], "removed")]
    for i in range(8):  # every wallet's investor and status equal the registry's
        ident = ledger.identity(w[i])
        assert chain_wallet(env, w[i]) == ((ident.investor, STATUS_CODE[ident.wallet_status]) if ident else (ZERO, 0))

    # balances equal the chain for every holder of both tokens; the ledger agrees with itself on supply
    for token in (env.prop, env.comm):
        rows = ledger.cap_table(token.address)
        assert {r.holder: r.amount for r in rows} == {
            h: chain_balance(token, h) for h in w if chain_balance(token, h)}
        assert ledger.total_supply(token.address) == token.functions.totalSupply().call()
        assert len(ledger.investor_cap_table(token.address)) == token.functions.holderCount().call()
    report = ledger.reconcile(env.stack)
    assert report.differences == [] and (report.investors, report.wallets) == (5, 8)


def test_token_created_and_used_in_one_range_is_picked_up(env, ledger):
    first = sync(ledger, env)
    token = env.new_property("LDGN", "LEDGER-NEW")
    env.tx.transact(token.functions.mint(env.w[2], 77, b32("n1")))
    result = sync(ledger, env, batch_blocks=10_000)
    assert result.ranges == 1 and result.from_block == first.to_block + 1
    assert result.new_tokens == [token.address]
    assert [(r.holder, r.amount, r.investor) for r in ledger.cap_table("ldgn")] == [(env.w[2], 77, env.w[2])]
    assert {e.event for e in ledger.history(asset="LDGN")} >= {"Transfer", "Minted", "PropertyTokenCreated"}


# --- queries -----------------------------------------------------------------------------------------------


def test_cap_table_at_an_earlier_block_and_percentages(env, ledger):
    b1 = mint_basics(env)
    env.sender(0).transact(env.prop.functions.transfer(env.w[3], 150))
    b2 = env.tx.transact(env.prop.functions.mint(env.w[4], 1, b32("one"))).block_number
    sync(ledger, env)

    then, now = ledger.cap_table(env.prop_id, block=b1), ledger.cap_table("LDGP")
    assert [(r.holder, r.amount) for r in then] == [(env.w[0], 400), (env.w[1], 300), (env.w[2], 200), (env.w[3], 100)]
    expected_now = {env.w[0]: 250, env.w[1]: 300, env.w[2]: 200, env.w[3]: 250, env.w[4]: 1}
    assert [(r.holder, r.amount) for r in now] == sorted(expected_now.items(), key=lambda x: (-x[1], x[0]))
    for block, rows in ((b1, then), (b2, now)):
        assert {r.holder: r.amount for r in rows} == {h: chain_balance(env.prop, h, block) for h in env.w
                                                      if chain_balance(env.prop, h, block)}
        assert sum(r.amount for r in rows) == env.prop.functions.totalSupply().call(block_identifier=block)
        assert abs(sum(r.percent for r in rows) - 100) < Decimal("1e-20")
    assert then[0].percent == Decimal(40)
    assert [r.amount for r in now] == sorted((r.amount for r in now), reverse=True)
    # before the first mint the cap table is empty
    assert ledger.cap_table("LDGP", block=b1 - 1) == []


def test_country_at_a_block_follows_update_country(env, ledger):
    mint_basics(env)
    before = env.tx.transact(env.stack.identity.functions.updateCategory(env.w[0], 3)).block_number
    after = env.tx.transact(env.stack.identity.functions.updateCountry(env.w[0], GB)).block_number
    sync(ledger, env)

    def country(block):
        return {r.holder: (r.country, r.country_numeric) for r in ledger.cap_table("LDGP", block=block)}[env.w[0]]

    assert country(before) == ("PK", PK)
    assert country(after) == ("GB", GB)
    assert ledger.identity(env.w[0], block=before).category == 3  # the update kept the other fields
    totals_before = {t.country: (t.holders, t.amount) for t in ledger.totals_by_country("LDGP", block=before)}
    totals_after = {t.country: (t.holders, t.amount) for t in ledger.totals_by_country("LDGP", block=after)}
    assert totals_before == {"PK": (2, 500), "AE": (1, 300), "GB": (1, 200)}
    assert totals_after == {"GB": (2, 600), "AE": (1, 300), "PK": (1, 100)}
    assert sum(t.percent for t in ledger.totals_by_country("LDGP")) == 100


def test_history_portfolio_and_asset_lookup(env, ledger):
    mint_basics(env)
    env.sender(1).transact(env.prop.functions.transfer(env.w[0], 5))
    env.tx.transact(env.comm.functions.attestLot(b32("L"), "vault", 1000, keccak(b"r")))
    env.tx.transact(env.comm.functions.mint(env.w[0], 70, b32("c")))
    sync(ledger, env)

    mine = ledger.history(wallet=env.w[0])
    assert mine == [e for e in ledger.events() if env.w[0] in json.dumps(e.args)]
    assert [e.event for e in mine][:1] == ["IdentityRegistered"]
    assert [(e.block_number, e.tx_index, e.log_index) for e in mine] == sorted(
        (e.block_number, e.tx_index, e.log_index) for e in mine)
    of_prop = ledger.history(asset="LDGP")
    assert of_prop and all(e.asset_id == env.prop_id for e in of_prop)
    assert ledger.history(asset="LDGP", limit=2) == of_prop[-2:]
    both = ledger.history(asset="LDGC", wallet=env.w[0])
    assert {e.event for e in both} == {"Transfer", "Minted"}

    holdings = {h.symbol: (h.amount, h.percent) for h in ledger.portfolio(env.w[0])}
    assert holdings == {"LDGP": (405, Decimal("40.5")), "LDGC": (70, Decimal(100))}
    assert ledger.balance("LDGP", env.w[1]) == 295
    for ref in (env.prop_id, str(env.prop_id), f"#{env.prop_id}", env.prop.address.lower(), "ldgp"):
        assert ledger.asset(ref).asset_id == env.prop_id
    with pytest.raises(UnknownAsset):
        ledger.cap_table("NOPE")
    assert {a.symbol for a in ledger.assets()} == {"LDGP", "LDGC"}


def test_uint256_amounts_stay_exact(env, ledger):
    token = env.new_property("LDGB", "LEDGER-BIG", decimals=18, cap=2**120 - 1)  # caps are < 2^120
    amounts = [2**118 + 1, 2**100 + 3, 10**21 + 7]  # far beyond int64 (and float precision)
    env.tx.transact(token.functions.batchMint(env.w[:3], amounts, refs("big", 3)))
    sync(ledger, env)
    rows = ledger.cap_table("LDGB")
    assert [r.amount for r in rows] == amounts
    assert ledger.total_supply("LDGB") == sum(amounts) == token.functions.totalSupply().call()
    with ledger.engine.connect() as conn:  # as the database holds them (no Amount type on the way out)
        stored = conn.execute(text("SELECT delta FROM balance_changes WHERE token = :t"), {"t": token.address}).all()
    assert sorted(int(d) for (d,) in stored) == sorted(amounts)
    if ledger.engine.dialect.name == "postgresql":
        assert all(isinstance(d, Decimal) and d == int(d) for (d,) in stored), "amounts are exact NUMERIC(78, 0)"
    else:
        assert all(isinstance(d, str) for (d,) in stored), "amounts are stored as exact decimal text"
    # the investor cap table sums exactly too (an investor's wallets at 2^118 each)
    env.tx.transact(env.ir.addWallet(env.w[0], env.w[6]))
    env.tx.transact(token.functions.mint(env.w[6], 2**118 - 5, b32("big-6")))
    sync(ledger, env)
    (top, *_) = ledger.investor_cap_table("LDGB")
    assert (top.investor, top.amount) == (env.w[0], 2**119 - 4)
    assert ledger.total_supply("LDGB") == sum(amounts) + 2**118 - 5 == token.functions.totalSupply().call()
    assert ledger.reconcile(env.stack).ok


# --- investors own wallets ------------------------------------------------------------------------------------


def test_an_investor_with_two_wallets_is_one_holder(env, ledger):
    w = env.w
    mint_basics(env)
    env.tx.transact(env.ir.addWallet(w[0], w[6]))
    moved = env.sender(0).transact(env.prop.functions.transfer(w[6], 150)).block_number
    sync(ledger, env)

    wallets = {r.holder: (r.amount, r.investor, r.country) for r in ledger.cap_table("LDGP")}
    assert wallets == {w[0]: (250, w[0], "PK"), w[6]: (150, w[0], "PK"), w[1]: (300, w[1], "AE"),
                       w[2]: (200, w[2], "GB"), w[3]: (100, w[3], "PK")}
    rows = ledger.investor_cap_table("LDGP")
    assert [(r.investor, r.amount) for r in rows] == [(w[0], 400), (w[1], 300), (w[2], 200), (w[3], 100)]
    top = rows[0]
    assert [(x.wallet, x.amount) for x in top.wallets] == [(w[0], 250), (w[6], 150)]
    assert dict(top.wallets) == {w[0]: 250, w[6]: 150}  # named pairs: `for wallet, amount in row.wallets`
    assert (top.country, top.country_numeric, top.percent, top.label) == ("PK", PK, Decimal(40), None)
    assert sum(r.percent for r in rows) == 100
    assert len(rows) == env.prop.functions.holderCount().call(block_identifier=moved) == 4  # the token counts so
    # totals by country count investors: PK has investors 0 (two wallets) and 3
    totals = {t.country: (t.holders, t.amount) for t in ledger.totals_by_country("LDGP")}
    assert totals == {"PK": (2, 500), "AE": (1, 300), "GB": (1, 200)}
    # the investor's state is one: a country update shows on both wallets
    env.tx.transact(env.ir.updateCountry(w[6], US))  # any wallet of the investor names it
    sync(ledger, env)
    assert {r.holder: r.country for r in ledger.cap_table("LDGP") if r.investor == w[0]} == {w[0]: "US", w[6]: "US"}
    assert {t.country: t.holders for t in ledger.totals_by_country("LDGP")}["US"] == 1
    assert [(x.wallet, x.status) for x in ledger.investor_wallets(w[0])] == [(w[0], "active"), (w[6], "active")]
    assert ledger.investor_wallets(w[0], block=moved - 2) == ledger.investor_wallets(w[0])[:1]
    assert ledger.investor_wallets(w[6]) == []  # w[6] is a wallet, not an investor id


def test_recovery_keeps_the_investor_and_its_label(env, ledger):
    w = env.w
    mint_basics(env)
    before = env.tx.transact(env.prop.functions.mint(w[4], 50, b32("mint-4"))).block_number
    ledger.set_investor_labels({w[4]: "Zainab Qureshi", w[1]: "Bilal Khan"})
    env.tx.transact(env.ir.replaceWallet(w[4], w[5]))  # compliance: w[4] lost, w[5] joins investor 4
    env.tx.transact(env.prop.functions.recoveryAddress(w[4], w[5]))  # registrar: the units follow
    sync(ledger, env)

    def row_of(investor, block=None):
        return next(r for r in ledger.investor_cap_table("LDGP", block=block, labels=True) if r.investor == investor)

    then, now = row_of(w[4], before), row_of(w[4])
    assert (then.investor, then.label, then.amount, then.country) == (w[4], "Zainab Qureshi", 50, "US")
    assert [(x.wallet, x.amount) for x in then.wallets] == [(w[4], 50)]
    assert (now.investor, now.label, now.amount, now.country) == (w[4], "Zainab Qureshi", 50, "US")
    assert [(x.wallet, x.amount) for x in now.wallets] == [(w[5], 50)]
    assert len(ledger.investor_cap_table("LDGP", block=before)) == len(ledger.investor_cap_table("LDGP")) == 5
    assert {r.holder: r.investor for r in ledger.cap_table("LDGP")}[w[5]] == w[4]
    assert w[4] not in {r.holder for r in ledger.cap_table("LDGP")}
    lost, new = ledger.identity(w[4]), ledger.identity(w[5])
    assert (lost.investor, lost.wallet_status, lost.active) == (w[4], "lost", False)
    assert (new.investor, new.wallet_status, new.active, new.country) == (w[4], "active", True, "US")
    assert ledger.identity(w[5], block=before) is None  # bound only by the replacement
    assert chain_wallet(env, w[4]) == (w[4], 3) and chain_wallet(env, w[5]) == (w[4], 1)
    assert ledger.reconcile(env.stack).ok


def test_labels_appear_only_when_asked(env, ledger, tmp_path):
    w = env.w
    mint_basics(env)
    sync(ledger, env)
    names = {w[0]: "Ayesha Malik", w[1]: "Omar Farooq", w[2].lower(): "  Hina Raza  "}
    assert ledger.set_investor_labels(names) == 3
    assert ledger.investor_labels() == {w[0]: "Ayesha Malik", w[1]: "Omar Farooq", w[2]: "Hina Raza"}

    assert all(r.label is None for r in ledger.investor_cap_table("LDGP"))
    labelled = {r.investor: r.label for r in ledger.investor_cap_table("LDGP", labels=True)}
    assert labelled == {w[0]: "Ayesha Malik", w[1]: "Omar Farooq", w[2]: "Hina Raza", w[3]: None}
    # nothing else carries them: cap table, countries, identities, history, exports without labels=True
    public = json.dumps([ledger_export.records(ledger.cap_table("LDGP")),
                         ledger_export.records(ledger.totals_by_country("LDGP")),
                         ledger_export.records(ledger.investor_cap_table("LDGP")),
                         [ledger.identity(x).to_dict() for x in w[:4]],
                         ledger_export.records(ledger.investor_wallets(w[0])),
                         ledger_export.records(ledger.history())])
    out = io.StringIO()
    ledger.export("investor-cap-table", out, fmt="csv", asset="LDGP")
    public += out.getvalue()
    assert not any(name in public for name in ("Ayesha", "Omar", "Hina"))
    out = io.StringIO()
    ledger.export("investor-cap-table", out, fmt="json", asset="LDGP", labels=True)  # registrar-side, asked for
    assert {r["investor"]: r["label"] for r in json.loads(out.getvalue())}[w[0]] == "Ayesha Malik"

    # upsert in one call: change one, remove one (None), add one; untouched labels stay
    assert ledger.set_investor_labels({w[0]: "Ayesha M. Malik", w[1]: None, w[3]: "Danish Iqbal"}) == 3
    assert ledger.investor_labels() == {w[0]: "Ayesha M. Malik", w[2]: "Hina Raza", w[3]: "Danish Iqbal"}
    assert ledger.investor_label(w[1]) is None and ledger.investor_label(w[3].lower()) == "Danish Iqbal"
    assert ledger.investor_labels([w[2], w[1]]) == {w[2]: "Hina Raza"}
    # a bad entry rejects the whole call: nothing is written
    for bad in ({w[0]: "x", "not-an-address": "y"}, {w[0]: "x", w[5]: ""}, {w[0]: "x", w[0].lower(): "z"}):
        with pytest.raises(LedgerError, match="investor labels"):
            ledger.set_investor_labels(bad)
    assert ledger.investor_label(w[0]) == "Ayesha M. Malik"
    # labels are off-chain: a further sync (or a rollback) leaves them alone
    env.tx.transact(env.prop.functions.mint(w[4], 1, b32("later")))
    sync(ledger, env)
    assert ledger.investor_labels() == {w[0]: "Ayesha M. Malik", w[2]: "Hina Raza", w[3]: "Danish Iqbal"}


def test_identity_history_by_block(env, ledger):
    w, ir, tx = env.w, env.ir, env.tx
    b0 = env.chain.w3.eth.block_number
    b1 = tx.transact(ir.updateCountry(w[1], GB)).block_number
    b2 = tx.transact(ir.addWallet(w[1], w[6])).block_number
    b3 = tx.transact(ir.removeWallet(w[6])).block_number
    b4 = tx.transact(ir.replaceWallet(w[1], w[7])).block_number  # the investor's first wallet (its id) is lost
    b5 = tx.transact(ir.deleteIdentity(w[7])).block_number
    b6 = tx.transact(ir.registerIdentity(w[1], US, env.chain.timestamp() + 86400, 3)).block_number  # back again
    b7 = tx.transact(ir.addWallet(w[7], w[6])).block_number  # the removed wallet added back
    sync(ledger, env)

    def at(wallet, block):
        i = ledger.identity(wallet, block=block)
        return None if i is None else (i.investor, i.wallet_status, i.active, i.country, i.category)

    assert at(w[1], b0) == (w[1], "active", True, "AE", 2)
    assert at(w[1], b1) == (w[1], "active", True, "GB", 2)
    assert at(w[6], b1) is None and at(w[7], b3) is None
    assert at(w[6], b2) == (w[1], "active", True, "GB", 2)
    assert at(w[6], b3) == (w[1], "removed", False, "GB", 2)
    assert at(w[1], b4) == (w[1], "lost", False, "GB", 2) and at(w[7], b4) == (w[1], "active", True, "GB", 2)
    assert at(w[7], b5) == (w[1], "active", False, "GB", 2) and not ledger.investor(w[1], block=b5).active
    # registered again: new data, its wallets as they were (the lost one stays lost)
    assert at(w[1], b6) == (w[1], "lost", False, "US", 3) and at(w[7], b6) == (w[1], "active", True, "US", 3)
    assert at(w[6], b6) == (w[1], "removed", False, "US", 3) and at(w[6], b7) == (w[1], "active", True, "US", 3)
    assert ledger.identity(w[6], block=b7).since_block == b7
    assert ledger.identity(w[7], block=b6).investor_active and not ledger.identity(w[7], block=b5).investor_active
    history = {b: [(x.wallet, x.status) for x in ledger.investor_wallets(w[1], block=b)] for b in (b1, b3, b4, b7)}
    assert history == {b1: [(w[1], "active")], b3: [(w[1], "active"), (w[6], "removed")],
                       b4: [(w[1], "lost"), (w[6], "removed"), (w[7], "active")],
                       b7: [(w[1], "lost"), (w[6], "active"), (w[7], "active")]}
    registered = ledger.events(event="IdentityRegistered")[0].block_number  # the batch registration
    assert [(x.wallet, x.bound_block) for x in ledger.investor_wallets(w[1])] == [(w[1], registered), (w[6], b2),
                                                                                   (w[7], b4)]
    # every answer equals the registry's at that block
    for block in (b0, b1, b2, b3, b4, b5, b6, b7):
        for wallet in (w[1], w[6], w[7]):
            ident = ledger.identity(wallet, block=block)
            assert chain_wallet(env, wallet, block) == (
                (ident.investor, STATUS_CODE[ident.wallet_status]) if ident else (ZERO, 0))
        country, kyc, category, active, _multi = ir.investor(w[1]).call(block_identifier=block)
        inv = ledger.investor(w[1], block=block)
        assert (inv.country_numeric, inv.kyc_expiry, inv.category, inv.active) == (country, kyc, category, active)
    assert ledger.reconcile(env.stack).ok


def test_a_database_of_the_old_schema_gives_one_clear_error(env, tmp_path, root):
    old = tmp_path / "v1.sqlite"
    with sqlite3.connect(old) as db:  # what rwaledger 1 left: schema version 1, per-wallet identities
        db.execute("CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema_version", "1"), ("checkpoint_block", "7")])
        db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, block_number BIGINT)")
        db.execute("CREATE TABLE identities (id INTEGER PRIMARY KEY, wallet VARCHAR(42), active BOOLEAN)")
    with pytest.raises(SchemaVersionError) as err:
        Ledger.open(old)
    assert isinstance(err.value, LedgerError) and err.value.found == "1"
    message = str(err.value)
    assert "schema version 1" in message and f"version {schema.SCHEMA_VERSION}" in message
    assert "new file" in message and str(old) in message
    with sqlite3.connect(old) as db:  # untouched: no table of the new schema was added to it
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert tables == {"meta", "events", "identities"}
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("1",)
    # the CLI prints that one line, no traceback
    proc = subprocess.run([sys.executable, "-m", "rwaledger.cli", "ledger", "cap-table", "LDGP", "--network", "tester",
                           "--db", str(old)], capture_output=True, text=True, cwd=root, timeout=120,
                          env={**os.environ, "RWA_DEBUG": ""})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert "schema version 1" in proc.stderr and "new file" in proc.stderr
    # a fresh file of this version opens again (and a newer version is refused too)
    fresh = tmp_path / "v2.sqlite"
    Ledger.open(fresh).close()
    Ledger.open(fresh).close()
    with sqlite3.connect(fresh) as db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionError, match="newer rwaledger"):
        Ledger.open(fresh)


# --- resume, reorgs ------------------------------------------------------------------------------------------


def test_interrupted_sync_resumes_to_the_same_database(env, new_ledger_url, monkeypatch):
    full_scenario(env)
    with Ledger.open(new_ledger_url("whole")) as whole:
        sync(whole, env, batch_blocks=5)
        expected = table_dump(whole)

    original = Indexer.write_range
    calls = {"n": 0}

    def failing(self, conn, *args, **kwargs):
        calls["n"] += 1
        rows = original(self, conn, *args, **kwargs)  # everything of the range is written...
        if calls["n"] == 3:
            raise RuntimeError("power cut")  # ...and then lost with the transaction
        return rows

    with Ledger.open(new_ledger_url("resumed")) as resumed:
        monkeypatch.setattr(Indexer, "write_range", failing)
        with pytest.raises(RuntimeError, match="power cut"):
            sync(resumed, env, batch_blocks=5)
        assert resumed.checkpoint().block == env.start + 2 * 5 - 1  # two ranges committed, the third not
        partial = table_dump(resumed)
        assert all(int(row[0]) <= resumed.checkpoint().block for row in partial["blocks"])
        monkeypatch.setattr(Indexer, "write_range", original)
        again = sync(resumed, env, batch_blocks=5)
        assert again.from_block == env.start + 10
        assert table_dump(resumed) == expected
        assert sync(resumed, env).events == 0  # up to date: nothing recorded twice
        assert table_dump(resumed) == expected


@pytest.mark.chains("tester", "anvil")
def test_reorg_is_rolled_back(env, ledger):
    chain, w = env.chain, env.w
    mint_basics(env)
    fork_block = chain.w3.eth.block_number
    snap = chain.snapshot()
    # the chain that will be orphaned: four blocks; in it wallet 6 is bound to investor 1
    orphan = [
        env.sender(0).transact(env.prop.functions.transfer(w[4], 111)),
        env.tx.transact(env.ir.updateCountry(w[1], US)),
        env.tx.transact(env.ir.addWallet(w[1], w[6])),
        env.tx.transact(env.prop.functions.mint(w[2], 999, b32("orphan"))),
    ]
    first = sync(ledger, env)
    assert first.to_block == fork_block + 4
    assert ledger.cap_table("LDGP")[0].amount == 1199
    assert ledger.identity(w[6]).investor == w[1]

    chain.revert(snap)
    # the replacement: other transactions at the same heights, and one block fewer; wallet 6 goes to investor 0
    # (were the orphaned binding kept, the ledger would refuse this one: a wallet never changes investor)
    replacement = [
        env.tx.transact(env.prop.functions.mint(w[3], 5, b32("replacement"))),
        env.tx.transact(env.ir.updateCountry(w[0], GB)),
        env.tx.transact(env.ir.addWallet(w[0], w[6])),
    ]
    assert [r.block_number for r in replacement] == [fork_block + 1, fork_block + 2, fork_block + 3]
    assert chain.w3.eth.get_block(fork_block + 1)["hash"].to_0x_hex() != orphan[0].raw["blockHash"].to_0x_hex()

    result = sync(ledger, env)
    assert result.rollback is not None
    assert result.rollback.fork_block == fork_block and result.rollback.old_checkpoint == fork_block + 4
    assert result.rollback.events_removed == sum(len(r.logs) for r in orphan) == 5
    assert result.to_block == fork_block + 3 == ledger.checkpoint().block

    # no trace of the orphaned chain in any table
    gone = {r.tx_hash for r in orphan}
    dump = table_dump(ledger)
    assert not any(h in str(row) for h in gone for rows in dump.values() for row in rows)
    with ledger.engine.connect() as conn:
        hashes = dict(conn.execute(select(schema.blocks.c.number, schema.blocks.c.hash)).all())
    for number, h in hashes.items():
        assert chain.w3.eth.get_block(number)["hash"].to_0x_hex() == h
    # the ledger is the new chain
    assert {r.holder: r.amount for r in ledger.cap_table("LDGP")} == {w[0]: 400, w[1]: 300, w[2]: 200, w[3]: 105}
    assert ledger.identity(w[1]).country == "AE" and ledger.identity(w[0]).country == "GB"
    assert (ledger.identity(w[6]).investor, ledger.identity(w[6]).country) == (w[0], "GB")
    assert [x.wallet for x in ledger.investor_wallets(w[1])] == [w[1]]
    assert {e.tx_hash for e in ledger.events(from_block=fork_block + 1)} == {r.tx_hash for r in replacement}
    assert ledger.reconcile(env.stack).ok
    # and a further sync has nothing to undo
    assert sync(ledger, env).rollback is None


# --- reconcile, export, binding -------------------------------------------------------------------------------


def test_reconcile_reports_planted_differences_only(env, ledger):
    mint_basics(env)
    env.tx.transact(env.comm.functions.attestLot(b32("L"), "vault", 1000, keccak(b"r")))
    env.tx.transact(env.comm.functions.mint(env.w[1], 70, b32("c")))
    sync(ledger, env)
    clean = ledger.reconcile(env.stack)
    assert clean.ok and clean.differences == [] and clean.tokens == 2 and clean.holders == 5

    bc = schema.balance_changes.c
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.balance_changes).where(bc.token == env.prop.address, bc.holder == env.w[2])
                     .values(delta=201))
    report = ledger.reconcile(env.stack)
    diffs = {(d.kind, d.token, d.holder, d.ledger, d.chain) for d in report.differences}
    assert diffs == {
        ("balance", env.prop.address, env.w[2], 201, 200),
        ("supply", env.prop.address, None, 1001, 1000),
    }
    assert "LDGP" in str(report.differences[0])

    # identities: a planted investor country and a planted wallet status are the only identity differences
    i = schema.investor_states.c
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.investor_states).where(i.investor == env.w[0]).values(country=GB))
        conn.execute(schema.wallet_statuses.insert().values(  # a wallet is active from its binding on: plant a row
            wallet=env.w[1], block_number=ledger.checkpoint().block, tx_hash="0x" + "99" * 32, tx_index=0,
            log_index=0, status="removed", event="planted"))
    report = ledger.reconcile(env.stack)
    identity_diffs = {(d.kind, d.holder, d.ledger, d.chain) for d in report.differences if d.token is None}
    assert identity_diffs == {("country", env.w[0], GB, PK), ("wallet_status", env.w[1], "removed", "active")}
    assert (report.investors, report.wallets) == (5, 5)
    assert f"identity {env.w[0]} country" in str(next(d for d in report.differences if d.kind == "country"))
    assert {d.kind for d in ledger.reconcile(env.stack, identities=False).differences} == {"balance", "supply"}


def test_export_round_trips(env, ledger, tmp_path):
    mint_basics(env)
    env.sender(0).transact(env.prop.functions.transfer(env.w[1], 1))
    sync(ledger, env)
    rows = ledger.cap_table("LDGP")
    expected = ledger_export.records(rows)

    for suffix in ("csv", "json"):
        path = tmp_path / f"cap.{suffix}"
        assert ledger.export("cap_table", path, asset="LDGP") == len(rows)
        back = ledger_export.read(path)
        assert back == expected
        assert [int(r["amount"]) for r in back] == [r.amount for r in rows]
        assert [Decimal(r["percent"]) for r in back] == [r.percent for r in rows]

    stream = io.StringIO()
    ledger.export("history", stream, fmt="json", wallet=env.w[0])
    history = json.loads(stream.getvalue())
    assert [h["tx_hash"] for h in history] == [e.tx_hash for e in ledger.history(wallet=env.w[0])]
    assert history[-1]["args"] == ledger.history(wallet=env.w[0])[-1].args

    stream = io.StringIO()
    n = ledger.export("events", stream, fmt="csv")
    back = ledger_export.read(io.StringIO(stream.getvalue()), "csv")
    assert len(back) == n == len(ledger.events())
    assert [json.loads(r["args"]) for r in back] == [e.args for e in ledger.events()]

    empty = io.StringIO()
    ledger.export("cap_table", empty, fmt="csv", asset="LDGP", block=env.start)
    assert empty.getvalue().strip() == "holder,amount,percent,country,country_numeric,investor"

    # the investor cap table: nested wallets as JSON (a JSON text cell in CSV), exact amounts
    env.tx.transact(env.ir.addWallet(env.w[0], env.w[6]))
    env.sender(0).transact(env.prop.functions.transfer(env.w[6], 99))
    sync(ledger, env)
    rows = ledger.investor_cap_table("LDGP")
    path = tmp_path / "investors.json"
    assert ledger.export("investor-cap-table", path, asset="LDGP") == len(rows) == 4
    back = ledger_export.read(path)
    assert back == ledger_export.records(rows)
    assert (back[0]["investor"], back[0]["amount"], back[0]["wallets"]) == (
        env.w[0], "399", [{"wallet": env.w[0], "amount": "300"}, {"wallet": env.w[6], "amount": "99"}])
    assert back[1]["wallets"] == [{"wallet": env.w[1], "amount": "301"}]
    stream = io.StringIO()
    ledger.export("investor_cap_table", stream, fmt="csv", asset="LDGP")
    cells = ledger_export.read(io.StringIO(stream.getvalue()), "csv")
    assert [json.loads(r["wallets"]) for r in cells] == [r["wallets"] for r in back]
    assert list(cells[0]) == ["investor", "label", "amount", "percent", "country", "country_numeric", "wallets"]
    with pytest.raises(LedgerError, match="cannot export"):
        ledger.export("labels", io.StringIO())


def test_a_ledger_follows_one_stack(env, ledger):
    sync(ledger, env)
    with ledger.engine.begin() as conn:
        conn.execute(update(schema.meta).where(schema.meta.c.key == "stack").values(value="{}"))
    with pytest.raises(LedgerMismatch):
        sync(ledger, env)


def test_oversized_ranges_are_split(env, ledger):
    """A node that refuses eth_getLogs spans over 4 blocks gets smaller ranges; the result is the same."""
    from rwaledger.ledger.errors import ChainReadError
    from rwaledger.ledger.rpc import reader_for

    class Capped:
        def __init__(self, inner):
            self.inner, self.refused = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def logs(self, a, b, addresses):
            if b - a >= 4:
                self.refused += 1
                raise ChainReadError("query exceeds max block range 4")
            return self.inner.logs(a, b, addresses)

    mint_basics(env)
    env.sender(0).transact(env.prop.functions.transfer(env.w[1], 1))
    reader = Capped(reader_for(env.chain))
    result = Indexer(ledger.engine, env.stack, reader=reader).sync(from_block=env.start, batch_blocks=1000)
    assert reader.refused > 0 and result.to_block == env.chain.w3.eth.block_number
    assert result.events == len(ledger.events()) > 0
    assert ledger.reconcile(env.stack).ok


def test_generic_decoding_of_any_abi():
    """The decoder is driven by the ABI alone: indexed value and dynamic types, tuples, arrays, unknown logs."""
    from rwaledger.ledger.decode import EventTable
    from rwaledger.ledger.rpc import RawLog

    abi = [{"type": "event", "name": "Odd", "anonymous": False, "inputs": [
        {"name": "who", "type": "address", "indexed": True},
        {"name": "delta", "type": "int256", "indexed": True},
        {"name": "label", "type": "string", "indexed": True},
        {"name": "pairs", "type": "tuple[]", "indexed": False,
         "components": [{"name": "n", "type": "uint8"}, {"name": "to", "type": "address"}]},
        {"name": "code", "type": "bytes3", "indexed": False},
        {"name": "big", "type": "uint256", "indexed": False},
    ]}]
    table = EventTable.from_abis({"thing": abi})
    (spec,) = table.by_kind["thing"].values()
    assert spec.signature == "Odd(address,int256,string,(uint8,address)[],bytes3,uint256)"
    who, to = "0x" + "ab" * 20, "0x" + "cd" * 20
    topics = (spec.topic0, "0x" + "00" * 12 + "ab" * 20, "0x" + (2**256 - 5).to_bytes(32, "big").hex(),
              "0x" + keccak(b"hello").hex())
    data = "0x" + abi_encode(["(uint8,address)[]", "bytes3", "uint256"], [[(7, to)], b"PKR", 2**255 + 1]).hex()
    log = RawLog(5, "0x" + "11" * 32, "0x" + "22" * 32, 0, 3, "0x" + "ee" * 20, topics, data)
    d = table.decode(log, "thing")
    from eth_utils import to_checksum_address

    assert d.event == "Odd"
    assert d.args == {"who": to_checksum_address(who), "delta": "-5", "label": "0x" + keccak(b"hello").hex(),
                      "pairs": [["7", to_checksum_address(to)]], "code": "0x504b52", "big": str(2**255 + 1)}
    assert d.accounts == (to_checksum_address(who),)
    unknown = table.decode(log._replace(topics=("0x" + "99" * 32,)), "thing")
    assert unknown.event is None and unknown.args == {"topics": ["0x" + "99" * 32], "data": data}


def test_free_text_from_the_chain_may_hold_any_character(env, ledger):
    """Token names, units, display references and URIs are free text on chain (a NUL byte included, which a
    PostgreSQL text column refuses): the sync records them on every backend."""
    now = env.chain.timestamp()
    env.tx.transact(env.stack.factory.functions.createCommodityToken(
        (b"AE", "LEDGER-NUL", "Vault\x00 7, Dubai", "ipfs://nul\x00", 1, b"AED", now),
        ("Nul\x00Gold", "LDGZ", 0, "g\x00ram", AE)))
    sync(ledger, env)
    rec = ledger.asset("LDGZ")
    assert (rec.name, rec.unit, rec.display_reference, rec.metadata_uri) == (
        "Nul\x00Gold", "g\x00ram", "Vault\x00 7, Dubai", "ipfs://nul\x00")
    assert ledger.reconcile(env.stack).ok
