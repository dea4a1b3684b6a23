"""The registrar service over the deployed stack, on both local chains."""

import datetime as dt
import json

import pytest
from eth_account import Account

from rwaledger.errors import CustomErrorRevert
from rwaledger.models import (
    InvestorSpec, LotSpec, MintRequest, SpecError, load_csv, load_spec, parse,
)
from rwaledger.registrar import AssetNotFound, Registrar, RegistrarError, TransferRejected, pro_rata
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

pytestmark = pytest.mark.chains("tester", "anvil")


@pytest.fixture(scope="module")
def env(rwa, root, tmp_path_factory):
    stack = deploy_stack(rwa)
    reg = Registrar(stack, distributions_dir=tmp_path_factory.mktemp("dist"))
    examples = root / "scripts" / "examples"
    reg.register_asset(load_spec(examples / "lahore-apartment.toml"))
    reg.register_asset(load_spec(examples / "karachi-gold.toml"))
    investors = load_csv(examples / "investors.csv", InvestorSpec)
    reg.add_investors(investors)
    reg.mint_many(load_csv(examples / "allocations.csv", MintRequest))
    keys = {a.address: a for a in rwa.chain.dev_accounts}
    signers = [Signer(keys[i.wallet], i.label) for i in investors]
    return reg, signers, examples


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def _state(reg):
    """Everything a failed operation must leave untouched."""
    out = {}
    for info in reg.assets():
        token = reg.token(info.asset_id)
        out[info.symbol] = (info.total_supply, [token.functions.balanceOf(a.address).call() for a in reg.session.chain.dev_accounts])
    return out, reg.session.chain.w3.eth.block_number


def test_assets_registered_with_records_documents_and_lots(env):
    reg, _, _ = env
    apt, gold = reg.asset("LHR-GH12B"), reg.asset("KHI-GOLD")
    assert (apt.kind, apt.jurisdiction, apt.max_supply, apt.decimals) == ("property", "PK", 10_000, 0)
    assert apt.total_supply == 9_000 and apt.valuation["currency"] == "PKR"
    assert gold.kind == "commodity" and gold.max_supply == 7_500_000  # two attested lots
    assert reg.asset(apt.token).asset_id == apt.asset_id == reg.asset("#1").asset_id == reg.asset(1).asset_id
    registry = reg.stack.registry.functions
    doc_id = registry.currentDocument(apt.asset_id, "title-deed").call()
    assert doc_id > 0 and registry.document(doc_id).call()[4] != b"\0" * 32
    mode, _, max_holders, max_balance = reg.token("LHR-GH12B").functions.rules().call()
    assert (mode, max_holders, max_balance) == (2, 500, 4000)


def test_register_again_is_a_noop(env):
    reg, _, examples = env
    block = reg.session.chain.w3.eth.block_number
    outcome = reg.register_asset(load_spec(examples / "lahore-apartment.toml"))
    assert outcome.status == "skipped" and "already registered as asset #1" in outcome.detail
    assert reg.session.chain.w3.eth.block_number == block


def test_new_document_version_supersedes(env, tmp_path):
    reg, _, examples = env
    spec = load_spec(examples / "lahore-apartment.toml")
    doc = spec.documents[1].model_copy(update={"file": tmp_path / "v2.txt"})
    doc.file.write_text("valuation report, revised")
    outcome = reg.add_document("LHR-GH12B", doc)
    assert "superseding" in outcome.detail
    assert reg.add_document("LHR-GH12B", doc).status == "skipped"


def test_mint_is_idempotent(env):
    reg, signers, _ = env
    req = MintRequest(asset="LHR-GH12B", to=signers[0].address, amount=10, reference="deed-x")
    assert reg.mint(req).status == "done"
    again = reg.mint(req)
    assert again.status == "skipped" and "already minted" in again.detail
    assert reg.token("LHR-GH12B").functions.balanceOf(signers[0].address).call() == 2_510


def test_mint_above_cap_is_rejected_before_sending(env):
    reg, signers, _ = env
    before = _state(reg)
    with pytest.raises(TransferRejected) as info:
        reg.mint(MintRequest(asset="LHR-GH12B", to=signers[4].address, amount=1_001))
    assert info.value.rule == "CapExceeded"
    assert _state(reg) == before


def test_transfer_and_rule_rejections_name_the_rule_and_change_nothing(env):
    reg, signers, _ = env
    ayesha, bilal, fatima, fund, omar, blocked = signers
    receipt = reg.transfer("LHR-GH12B", ayesha, fatima.address, 100)
    assert receipt.status == 1
    before = _state(reg)
    cases = [
        (ayesha, blocked.address, 1, "CountryNotAllowed"),
        (bilal, fund.address, 2_500, "MaxBalanceExceeded"),
        (ayesha, Account.create().address, 1, "RecipientNotVerified"),
        (ayesha, fatima.address, 10**6, "InsufficientBalance"),
    ]
    for sender, to, amount, rule in cases:
        with pytest.raises(TransferRejected, match=rule) as info:
            reg.transfer("LHR-GH12B", sender, to, amount)
        assert info.value.rule == rule
    assert _state(reg) == before


def test_frozen_partial_and_forced_transfer(env):
    reg, signers, _ = env
    ayesha, _, fatima, fund, _, _ = signers
    reg.freeze_partial("LHR-GH12B", ayesha.address, 2_000)
    with pytest.raises(TransferRejected, match="InsufficientUnlockedBalance"):
        reg.transfer("LHR-GH12B", ayesha, fatima.address, 600)
    reg.transfer("LHR-GH12B", ayesha, fatima.address, 500)
    reg.freeze("LHR-GH12B", fatima.address)
    with pytest.raises(TransferRejected, match="SenderFrozen"):
        reg.transfer("LHR-GH12B", fatima, ayesha.address, 1)
    reg.forced_transfer("LHR-GH12B", fatima.address, fund.address, 100, "LHC order 2026/77")
    assert reg.token("LHR-GH12B").functions.balanceOf(fund.address).call() == 2_100


def test_lien_blocks_encumbered_shares_until_released(env, accounts):
    reg, signers, _ = env
    ayesha, _, fatima, _, _, _ = signers
    bank = accounts[9]
    lien = reg.create_lien("LHR-GH12B", ayesha.address, bank.address, 2_000, "mortgage MCB-889")
    with pytest.raises(TransferRejected, match="InsufficientUnlockedBalance"):
        reg.transfer("LHR-GH12B", ayesha, fatima.address, 501)
    reg.release_lien("LHR-GH12B", lien.data["lien_id"], signer=bank)  # the beneficiary releases
    reg.transfer("LHR-GH12B", ayesha, fatima.address, 501)


def test_wallet_recovery_moves_identity_and_balances(env, rwa):
    reg, signers, _ = env
    bilal = signers[1]
    new = Account.create()
    held = {s: reg.token(s).functions.balanceOf(bilal.address).call() for s in ("LHR-GH12B", "KHI-GOLD")}
    outcome = reg.recover_wallet(bilal.address, new.address)
    assert set(outcome.data["moved"]) == {"identity", "LHR-GH12B", "KHI-GOLD"}
    for symbol, amount in held.items():
        assert reg.token(symbol).functions.balanceOf(new.address).call() == amount
        assert reg.token(symbol).functions.balanceOf(bilal.address).call() == 0
    assert reg.investor(new.address)["country"] == "PK" and reg.investor(bilal.address) is None


def test_redemption_fulfil_and_reject(env):
    reg, signers, _ = env
    omar, bilal = signers[4], signers[1]
    gold = reg.token("KHI-GOLD").functions
    rid = reg.request_redemption("KHI-GOLD", omar, 250_000, "deliver Riyadh")
    assert gold.lockedBalanceOf(omar.address).call() == 250_000
    reserve = gold.attestedReserve().call()
    reg.fulfil_redemption("KHI-GOLD", rid, "KHI-LOT-2026-001")
    assert gold.balanceOf(omar.address).call() == 1_750_000
    assert gold.attestedReserve().call() == reserve - 250_000
    rid2 = reg.request_redemption("KHI-GOLD", bilal, 1_000, "pickup")
    reg.reject_redemption("KHI-GOLD", rid2, "no show")
    assert gold.lockedBalanceOf(bilal.address).call() == 0
    assert gold.totalSupply().call() <= gold.attestedReserve().call()


def test_lot_attestation_is_idempotent_and_raises_reserve(env, tmp_path):
    reg, _, _ = env
    (tmp_path / "r.txt").write_text("receipt 3")
    lot = LotSpec(lot_id="KHI-LOT-2026-003", vault="bay 16", quantity=1_000, receipt_file=tmp_path / "r.txt")
    assert reg.attest_lot("KHI-GOLD", lot).status == "done"
    assert reg.attest_lot("KHI-GOLD", lot).status == "skipped"
    assert reg.asset("KHI-GOLD").max_supply == 7_501_000
    with pytest.raises(RegistrarError, match="commodity"):
        reg.attest_lot("LHR-GH12B", lot)


def test_distribution_pro_rata_claims_and_double_claim(env, rwa):
    reg, signers, _ = env
    pkr = rwa.deployer.deploy("TestStablecoin")
    rwa.tx.transact(pkr.functions.mint(rwa.signer.address, 10**12))
    record = rwa.chain.w3.eth.block_number
    expiry = dt.datetime.fromtimestamp(rwa.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    outcome = reg.distribute("LHR-GH12B", pkr.address, 900_001, expiry, record)
    dist = outcome.data["distribution_id"]
    plan = reg.plan(dist)
    assert sum(a for _, _, a in plan.entries) == 900_001
    saved = json.loads(open(outcome.data["proofs_file"]).read())
    assert saved["merkleRoot"] == "0x" + plan.root.hex() and len(saved["claims"]) == 4
    ayesha = signers[0]
    # a transfer after the record block does not change the entitlement
    reg.transfer("LHR-GH12B", ayesha, signers[2].address, 1_000)
    reg.claim(dist, ayesha.address)
    expected = dict((w, a) for _, w, a in plan.entries)[ayesha.address]
    assert pkr.functions.balanceOf(ayesha.address).call() == expected
    with pytest.raises(CustomErrorRevert) as info:
        reg.claim(dist, ayesha.address)
    assert info.value.name == "AlreadyClaimed"


def test_pro_rata_is_exact():
    shares = pro_rata({"a": 1, "b": 1, "c": 1}, 100)
    assert sum(shares.values()) == 100 and sorted(shares.values()) == [33, 33, 34]
    with pytest.raises(RegistrarError):
        pro_rata({}, 5)


def test_pipelined_transfers(env):
    reg, signers, _ = env
    ayesha, bilal, fatima = signers[:3]
    receipts = reg.transfer_many([("LHR-GH12B", ayesha, fatima.address, 10)] * 5 + [("LHR-GH12B", bilal, fatima.address, 7)] * 3)
    assert len(receipts) == 8 and all(r.status == 1 for r in receipts)
    assert reg.token("LHR-GH12B").functions.balanceOf(fatima.address).call() == 1_500 + 71


def test_bad_inputs_are_clear_and_change_nothing(env):
    reg, signers, _ = env
    before = _state(reg)
    with pytest.raises(AssetNotFound, match="no asset with symbol 'NOPE'"):
        reg.asset("NOPE")
    with pytest.raises(AssetNotFound):
        reg.asset(99)
    with pytest.raises(RegistrarError, match="amount must be positive"):
        reg.transfer("LHR-GH12B", signers[0], signers[2].address, -5)
    with pytest.raises(RegistrarError, match="bad checksum"):
        reg.transfer("LHR-GH12B", signers[0], "0x90F79bf6EB2c4f870365E785982E1f101E93B906", 1)
    with pytest.raises(SpecError, match="field amount"):
        parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[0].address, "amount": -1}, "mint")
    assert _state(reg) == before


def test_bad_spec_file_names_file_and_field(tmp_path, root):
    src = (root / "scripts" / "examples" / "lahore-apartment.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace('jurisdiction = "PK"', 'jurisdiction = "XX"'))
    with pytest.raises(SpecError, match=r"bad.toml: field jurisdiction: unknown ISO 3166 country 'XX'"):
        load_spec(bad)
    bad.write_text(src.replace("total_shares = 10000", "total_shares = -3"))
    with pytest.raises(SpecError, match=r"bad.toml: field total_shares: Input should be greater than 0"):
        load_spec(bad)
    bad.write_text(src.replace("[valuation]", "[valuation\n"))
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    csv = tmp_path / "inv.csv"
    csv.write_text("wallet,country,kyc_expiry\n0x70997970C51812dc3A010C7d01b50e0d17dc79C8,PK,2027-01-01\nnot-an-address,PK,2027-01-01\n")
    with pytest.raises(SpecError, match=r"inv.csv:3: field wallet"):
        load_csv(csv, InvestorSpec)


def test_entitlements_from_the_ledger_match_the_chain(env, rwa, tmp_path):
    from rwaledger.ledger import Ledger

    reg, signers, _ = env
    record = rwa.chain.w3.eth.block_number
    reg.transfer("LHR-GH12B", signers[0], signers[2].address, 333)  # after the record block: must not count
    from_logs = reg.plan_distribution("LHR-GH12B", 1_000_003, record)
    from_ledger = reg.plan_distribution("LHR-GH12B", 1_000_003, record, ledger=Ledger.open(tmp_path / "l.sqlite"))
    assert from_ledger.entries == from_logs.entries and from_ledger.root == from_logs.root
    assert sum(a for _, _, a in from_ledger.entries) == 1_000_003
