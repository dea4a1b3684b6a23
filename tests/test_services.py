"""The registrar services (rwaledger.services) over the deployed stack, on both local chains.

Each integrity defect of the issue has a test here at the service level (the contract-level ones are in
tests/contracts/): allocations that mint once whatever the order, chunking or command; one parcel one token under any
spelling; a repeated spec that changes nothing; separated duties; forced moves within the rules; distributions paid
only to who may be paid; limits per investor; bad input refused before anything is sent.
"""

import dataclasses
import datetime as dt
import json

import pytest
from eth_account import Account

from rwaledger.errors import ContractRevert, CustomErrorRevert, RwaError
from rwaledger.models import (
    AssetSpec, InvestorSpec, LotSpec, MintRequest, SpecError, TransferRules, load_csv, load_spec, parse,
)
from rwaledger.services import (
    AssetExists, AssetNotFound, Services, RegistrarError, TransferRejected, pro_rata,
)
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack
from rwaledger.render import describe

pytestmark = pytest.mark.chains("tester", "anvil")


@pytest.fixture(scope="module")
def env(chain, rwa_build, root, tmp_path_factory):
    """A fresh stack (own deployment records) with the examples registered, onboarded and minted; reverted at the
    end of the module."""
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    stack = deploy_stack(session)
    reg = Services(stack, distributions_dir=tmp_path_factory.mktemp("dist"))
    examples = root / "scripts" / "examples"
    reg.assets.register(load_spec(examples / "lahore-apartment.toml"))
    reg.assets.register(load_spec(examples / "karachi-gold.toml"))
    investors = load_csv(examples / "investors.csv", InvestorSpec)
    reg.investors.add_many(investors)
    reg.issuance.mint_many(load_csv(examples / "allocations.csv", MintRequest))
    keys = {a.address: a for a in chain.dev_accounts}
    signers = [Signer(keys[i.wallet], i.label or "second wallet") for i in investors]
    yield reg, signers, examples
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation):
    pass


def _state(reg):
    """Everything a refused operation must leave untouched."""
    out = {}
    for info in reg.assets.assets():
        token = reg.assets.token(info.asset_id)
        out[info.symbol] = (info.total_supply, token.functions.rules().call(),
                            [token.functions.balanceOf(a.address).call() for a in reg.session.chain.dev_accounts])
    return out, reg.session.chain.w3.eth.block_number


def _spec(examples, name="lahore-apartment.toml", **changes):
    spec = load_spec(examples / name)
    return parse(AssetSpec, {**spec.model_dump(), **changes}, "test spec")


# --------------------------------------------------------------------------------------------------- assets


def test_assets_registered_with_records_documents_lots_and_activated(env):
    reg, _, _ = env
    apt, gold = reg.assets.asset("LHR-GH12B"), reg.assets.asset("KHI-GOLD")
    assert (apt.kind, apt.jurisdiction, apt.max_supply, apt.decimals, apt.status) == ("property", "PK", 10_000, 0, "active")
    assert apt.total_supply == 9_500 and apt.valuation["currency"] == "PKR"
    assert apt.legal_reference == "LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT-12B"
    assert gold.kind == "commodity" and gold.max_supply == 7_500_000 and gold.unit == "gram"
    assert reg.assets.asset(apt.token).asset_id == apt.asset_id == reg.assets.asset("#1").asset_id == reg.assets.asset("lhr-gh12b").asset_id
    registry = reg.stack.registry.functions
    doc_id = registry.currentDocument(apt.asset_id, "title-deed").call()
    assert doc_id > 0 and registry.document(doc_id).call()[4] != b"\0" * 32
    mode, _, max_holders, max_balance = reg.assets.token("LHR-GH12B").functions.rules().call()
    assert (mode, max_holders, max_balance) == (2, 500, 4000)


def test_the_same_spec_again_sends_nothing(env):
    reg, _, examples = env
    before = _state(reg)
    outcome = reg.assets.register(load_spec(examples / "lahore-apartment.toml"))
    assert outcome.status == "skipped" and "already registered as asset #1 (LHR-GH12B)" in describe(outcome)
    assert _state(reg) == before


def test_a_repeated_spec_with_other_rules_is_refused_and_changes_nothing(env):
    """Issue item 6: a spec whose parcel exists used to print 'skipped' and apply its rules (max balance 4,000 -> 100)."""
    reg, _, examples = env
    spec = load_spec(examples / "lahore-apartment.toml")
    changed = parse(AssetSpec, {**spec.model_dump(), "rules": {**spec.rules.model_dump(), "max_balance": 100}}, "x")
    before = _state(reg)
    with pytest.raises(AssetExists, match=r"already registered as asset #1 \(LHR-GH12B\); its rules differ.*max balance 100"):
        reg.assets.register(changed)
    assert _state(reg) == before
    assert reg.assets.token("LHR-GH12B").functions.rules().call()[3] == 4000
    # changing the rules is its own explicit command
    assert reg.assets.set_rules("LHR-GH12B", changed.rules).status == "done"
    assert reg.assets.token("LHR-GH12B").functions.rules().call()[3] == 100


@pytest.mark.parametrize("variant", [
    "lhr/gulberg-iii/khewat-1187/khatooni-2231/flat-12b",  # lower case
    "LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT  12B",  # an inner double space
    "LHR/GULBERG\u2010III/KHEWAT-1187/KHATOONI-2231/FLAT-12B",  # a Unicode hyphen
    "LHR/GULBERG-III/KHE\u200bWAT-1187/KHATOONI-2231/FLAT-12B",  # a zero-width space
])
def test_one_parcel_one_token_under_any_spelling(env, variant):
    """Issue item 5: each variant used to register a second token for the same parcel."""
    reg, _, examples = env
    before = _state(reg)
    with pytest.raises(AssetExists, match=r"LHR/GULBERG-III/KHEWAT-1187/KHATOONI-2231/FLAT-12B \(PK\) is already registered as asset #1"):
        reg.assets.register(_spec(examples, legal_reference=variant, symbol="LHR-COPY"))
    assert _state(reg) == before and reg.stack.registry.functions.assetCount().call() == 2


def test_jurisdiction_in_lower_case_is_the_same_parcel(env):
    reg, _, examples = env
    with pytest.raises(AssetExists):
        reg.assets.register(_spec(examples, jurisdiction="pk", symbol="LHR-COPY"))


def test_a_symbol_in_use_is_refused(env):
    reg, _, examples = env
    before = _state(reg)
    with pytest.raises(AssetExists, match="symbol LHR-GH12B is already used by asset #1"):
        reg.assets.register(_spec(examples, legal_reference="LHR/GULBERG-III/KHEWAT-1187/FLAT-14A"))
    assert _state(reg) == before
    assert reg.assets.asset("LHR-GH12B").asset_id == 1


def test_an_interrupted_registration_is_completed_by_the_same_spec(env, root, tmp_path):
    reg, _, examples = env
    spec = _spec(examples, legal_reference="LHR/DHA-6/PLOT-77", symbol="LHR-DHA77")
    registry, factory = reg.stack.registry.functions, reg.stack.factory.functions
    # a first run that stopped right after the token was created (no rules, documents or activation yet)
    reg.tx.transact(factory.createPropertyToken(
        (b"PK", spec.canonical_reference, "", spec.metadata_uri, spec.valuation.minor_units(), b"PKR",
         int(dt.datetime.combine(spec.valuation.date, dt.time(), dt.timezone.utc).timestamp())),
        (spec.name, spec.symbol, spec.decimals, spec.total_shares, 586)))
    outcome = reg.assets.register(spec)
    assert outcome.status == "done" and "completed its registration" in describe(outcome)
    info = reg.assets.asset("LHR-DHA77")
    assert info.status == "active" and reg.assets.token(info.asset_id).functions.rules().call()[3] == 4000
    assert registry.currentDocument(info.asset_id, "title-deed").call() > 0
    assert reg.assets.register(spec).status == "skipped"


def test_lifecycle_forward_only_and_no_documents_on_retired(env, tmp_path):
    reg, signers, examples = env
    with pytest.raises(RegistrarError, match="can only become suspended or retired"):
        reg.assets.set_status("LHR-GH12B", "registered")
    reg.assets.set_status("LHR-GH12B", "suspended")
    with pytest.raises(SpecError, match="LHR-GH12B is suspended: only an active asset mints"):
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=signers[0].address, amount=1, reference="x"))
    reg.assets.set_status("LHR-GH12B", "active")  # suspended -> active is the one way back
    reg.assets.set_status("LHR-GH12B", "retired")
    with pytest.raises(RegistrarError, match="retired is final"):
        reg.assets.set_status("LHR-GH12B", "active")
    doc = load_spec(examples / "lahore-apartment.toml").documents[0]
    with pytest.raises(RegistrarError, match="is retired: its record takes no new documents"):
        reg.assets.add_document("LHR-GH12B", doc)


def test_new_document_version_supersedes(env, tmp_path):
    reg, _, examples = env
    spec = load_spec(examples / "lahore-apartment.toml")
    (tmp_path / "v2.txt").write_text("valuation report, revised")
    doc = parse(type(spec.documents[1]), {**spec.documents[1].model_dump(), "file": tmp_path / "v2.txt",
                                           "name": "Valuation Report"}, "doc")
    assert doc.name == "valuation-report"  # the canonical form: the same document as before
    outcome = reg.assets.add_document("LHR-GH12B", doc)
    assert "superseding" in describe(outcome)
    assert reg.assets.add_document("LHR-GH12B", doc).status == "skipped"


# --------------------------------------------------------------------------------------------------- minting


def test_allocations_mint_once_in_any_order_chunk_or_command(env):
    """Issue item 1: a re-run in reverse order used to double the supply, and a single mint of row 1 to triple it."""
    reg, _, examples = env
    allocations = load_csv(examples / "allocations.csv", MintRequest)
    before = _state(reg)
    again = reg.issuance.mint_many(list(reversed(allocations)), chunk=3)
    assert again.status == "skipped" and again.facts == {"minted": 0, "skipped": 8, "assets": 2} and again.txs == []
    first = allocations[0]
    single = reg.issuance.mint(MintRequest(asset=first.asset, to=first.to, amount=2500, reference=first.reference))
    assert single.status == "skipped" and "already minted" in describe(single)
    assert _state(reg) == before and reg.assets.asset("LHR-GH12B").total_supply == 9_500


def test_a_reference_minted_to_someone_else_is_an_error(env):
    reg, signers, _ = env
    before = _state(reg)
    with pytest.raises(SpecError, match="reference 'sale-deed-2026-0101' was already minted on LHR-GH12B to another"):
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=signers[0].address, amount=2499, reference="sale-deed-2026-0101"))
    assert _state(reg) == before


def test_a_duplicate_reference_in_one_file_names_both_lines(env, tmp_path):
    """Issue item 1: a duplicate row used to be minted twice and reported as '2 allocations minted'."""
    reg, signers, _ = env
    csv = tmp_path / "dup.csv"
    row = f"LHR-GH12B,{signers[0].address},10,deed-dup\n"
    csv.write_text("asset,to,amount,reference\n" + row + f"LHR-GH12B,{signers[2].address},5,deed-ok\n" + row)
    before = _state(reg)
    with pytest.raises(SpecError, match=r"dup.csv:4: allocation \(asset, reference\) .* is also at .*dup.csv:2"):
        reg.issuance.mint_many(load_csv(csv, MintRequest))
    assert _state(reg) == before


def test_amounts_in_the_assets_unit(env):
    reg, signers, _ = env
    gold = reg.assets.token("KHI-GOLD").functions
    before = gold.balanceOf(signers[0].address).call()
    reg.issuance.mint(MintRequest(asset="KHI-GOLD", to=signers[0].address, amount="0.25 kg", reference="gold-unit-test"))
    assert gold.balanceOf(signers[0].address).call() == before + 250_000
    with pytest.raises(SpecError, match="finer than the token's 3 decimals"):
        reg.issuance.mint(MintRequest(asset="KHI-GOLD", to=signers[0].address, amount="0.0001 g", reference="g2"))
    with pytest.raises(SpecError, match="unknown unit 'bales'"):
        reg.issuance.mint(MintRequest(asset="KHI-GOLD", to=signers[0].address, amount="3 bales", reference="g3"))
    reg.transfers.transfer("KHI-GOLD", signers[1], signers[0].address, "12.5 g")
    assert gold.balanceOf(signers[0].address).call() == before + 262_500


def test_mint_above_cap_is_rejected_before_sending(env):
    reg, signers, _ = env
    before = _state(reg)
    with pytest.raises(SpecError, match=r"mint 501 shares, but the cap leaves room for 500 shares"):
        reg.issuance.mint(MintRequest(asset="LHR-GH12B", to=signers[4].address, amount=501, reference="too-much"))
    assert _state(reg) == before


# --------------------------------------------------------------------------------------------------- investors


def test_one_investor_with_two_wallets_is_capped_and_counted_once(env):
    """Issue item 8: two wallets of one investor used to hold 150% of max balance and count twice."""
    reg, signers, _ = env
    ayesha, bilal, bilal2 = signers[0], signers[1], signers[6]
    lhr = reg.assets.token("LHR-GH12B").functions
    assert lhr.investorBalanceOf(bilal2.address).call() == 3_500  # 3,000 + 500 in his two wallets
    holders = lhr.holderCount().call()
    assert holders == 4  # Ayesha, Bilal (two wallets), Fatima and the fund: four investors
    before = _state(reg)
    with pytest.raises(TransferRejected) as info:  # 3,500 + 600 > 4,000, although the second wallet holds 500
        reg.transfers.transfer("LHR-GH12B", ayesha, bilal2.address, 600)
    assert info.value.rule == "MaxBalanceExceeded" and _state(reg) == before
    reg.transfers.transfer("LHR-GH12B", ayesha, bilal2.address, 500)
    reg.transfers.transfer("LHR-GH12B", bilal, bilal2.address, 3_000)  # all of wallet 1 to wallet 2: still one holder
    assert lhr.holderCount().call() == holders and lhr.balanceOf(bilal.address).call() == 0
    assert reg.investors.investor(bilal2.address).investor == bilal.address


def test_investor_rows_add_wallets_and_keep_the_category(env, tmp_path):
    """Issue item 10: renewing KYC without a category used to reset an accredited investor to retail."""
    reg, signers, _ = env
    bilal = signers[1]
    spec = parse(InvestorSpec, {"wallet": bilal.address, "country": "PK", "kyc_expiry": "2030-01-01"}, "renewal")
    outcome = reg.investors.add(spec)
    assert outcome.facts["updates"] == 1
    info = reg.investors.investor(bilal.address)
    assert info.category == 2 and info.kyc_expiry == "2030-01-01"  # accredited kept
    new = Account.create().address
    added = reg.investors.add(parse(InvestorSpec, {"wallet": new, "investor": bilal.address}, "wallet"))
    assert added.facts["wallets_added"] == 1 and reg.investors.investor(new).investor == bilal.address
    other = signers[0].address
    with pytest.raises(SpecError, match="already belongs to investor"):
        reg.investors.add(parse(InvestorSpec, {"wallet": new, "investor": other}, "wallet"))
    csv = tmp_path / "dup.csv"
    csv.write_text(f"wallet,country,kyc_expiry\n{other},PK,2029-01-01\n{other},PK,2029-02-01\n")
    with pytest.raises(SpecError, match=r"dup.csv:3: wallet .* is also at .*dup.csv:2"):
        reg.investors.add_many(load_csv(csv, InvestorSpec))


def test_separated_duties(env, chain, rwa_build):
    """Issue item 2: the registrar alone used to make a wallet verified and take a holder's whole position."""
    reg, signers, _ = env
    stack = reg.stack
    admin_tx = reg.tx
    clerk, officer = chain.dev_accounts[8], chain.dev_accounts[9]
    access = stack.access.functions
    admin_tx.transact(access.grantRole(stack.access.functions.REGISTRAR_ROLE().call(), clerk.address))
    admin_tx.transact(access.grantRole(stack.access.functions.COMPLIANCE_ROLE().call(), officer.address))
    as_clerk = open_session(chain=chain, build=rwa_build, signer=Signer(clerk, "registrar clerk"), record=False)
    clerk_reg = Services(dataclasses.replace(stack, session=as_clerk))
    victim, thief, spare = signers[0].address, Account.create().address, Account.create().address
    reg.investors.add_wallet(victim, spare)  # the compliance officer gave the victim a second wallet
    before = _state(reg)
    with pytest.raises(RegistrarError, match="needs the compliance role"):
        clerk_reg.investors.recover_wallet(victim, thief)
    with pytest.raises(CustomErrorRevert, match="AccessControlUnauthorizedAccount"):
        as_clerk.tx.transact(stack.identity.functions.replaceWallet(victim, thief))
    lhr = reg.assets.token("LHR-GH12B").functions
    with pytest.raises(CustomErrorRevert, match="RecoveryNotSameInvestor"):  # into another investor's wallet
        as_clerk.tx.transact(lhr.recoveryAddress(victim, signers[2].address))
    with pytest.raises(CustomErrorRevert, match="WalletNotLost"):  # not before the compliance officer replaced it
        as_clerk.tx.transact(lhr.recoveryAddress(victim, spare))
    assert _state(reg) == before
    # with the compliance officer's signer too, the same investor's new wallet gets the units
    both = Services(dataclasses.replace(stack, session=as_clerk), compliance=Signer(officer, "compliance officer"))
    new = Account.create().address
    outcome = both.investors.recover_wallet(victim, new)
    assert outcome.facts["moved"] == ["LHR-GH12B"] and reg.assets.token("LHR-GH12B").functions.balanceOf(new).call() == 2_500
    assert reg.investors.investor(new).investor == victim and reg.investors.investor(victim).wallet_status == "lost"


def test_recovery_carries_a_freeze_of_an_empty_wallet_and_resumes(env):
    """Issue item 7: a token where the lost wallet was frozen with a zero balance refused, leaving recovery half done."""
    reg, signers, _ = env
    fatima = signers[2].address
    reg.enforcement.freeze("KHI-GOLD", fatima)  # she holds no gold, but her wallet is frozen there
    new = Account.create().address
    outcome = reg.investors.recover_wallet(fatima, new)
    assert outcome.facts["moved"] == ["LHR-GH12B", "KHI-GOLD"]
    gold, lhr = reg.assets.token("KHI-GOLD").functions, reg.assets.token("LHR-GH12B").functions
    assert gold.isFrozen(new).call() and not gold.isFrozen(fatima).call()
    assert lhr.balanceOf(new).call() == 1_500 and lhr.balanceOf(fatima).call() == 0
    assert reg.investors.recover_wallet(fatima, new).status == "skipped"  # a re-run finds nothing left
    with pytest.raises(TransferRejected, match="RecipientNotVerified"):  # a recovered-from wallet never receives
        reg.transfers.transfer("LHR-GH12B", signers[0], fatima, 1)
    with pytest.raises(SpecError, match="was replaced as lost and can never be used again"):  # nor comes back
        reg.investors.add(parse(InvestorSpec, {"wallet": fatima, "investor": new}, "row"))


# --------------------------------------------------------------------------------------------------- transfers


def test_transfer_rejections_name_the_rule_and_change_nothing(env):
    reg, signers, _ = env
    ayesha, bilal, fatima, fund, omar, blocked = signers[:6]
    assert reg.transfers.transfer("LHR-GH12B", ayesha, fatima.address, 100).status == 1
    before = _state(reg)
    cases = [
        (ayesha, blocked.address, 1, "CountryNotAllowed"),
        (bilal, fund.address, 2_100, "MaxBalanceExceeded"),
        (ayesha, Account.create().address, 1, "RecipientNotVerified"),
        (ayesha, fatima.address, 10**6, "InsufficientBalance"),
    ]
    for sender, to, amount, rule in cases:
        with pytest.raises(TransferRejected, match=rule) as info:
            reg.transfers.transfer("LHR-GH12B", sender, to, amount)
        assert info.value.rule == rule
    assert _state(reg) == before


def test_forced_transfers_stay_within_the_rules(env):
    """Issue item 3: forced moves used to unfreeze units and skip the recipient's country and limits."""
    reg, signers, _ = env
    ayesha, bilal, fatima, fund, omar, blocked = signers[:6]
    reg.enforcement.freeze_partial("LHR-GH12B", ayesha.address, 2_000)
    reg.enforcement.create_lien("LHR-GH12B", ayesha.address, fund.address, 400, "mortgage MCB-889")
    before = _state(reg)
    refused = [
        (ayesha.address, blocked.address, 10, False, "CountryNotAllowed"),
        (ayesha.address, fund.address, 2_001, True, "MaxBalanceExceeded"),  # the fund holds 2,000 of 4,000
        (ayesha.address, fatima.address, 101, False, "InsufficientUnlockedBalance"),  # 100 free
        (ayesha.address, fatima.address, 2_101, True, "InsufficientUnlockedBalance"),  # never the liened 400
    ]
    for sender, to, amount, frozen, rule in refused:
        with pytest.raises(RegistrarError, match=f"rejected by rule {rule}"):
            reg.enforcement.forced_transfer("LHR-GH12B", sender, to, amount, "LHC order 2026/77", include_frozen=frozen)
    assert _state(reg) == before
    done = reg.enforcement.forced_transfer("LHR-GH12B", ayesha.address, fatima.address, 600, "LHC order 2026/78", include_frozen=True)
    assert done.facts["frozen_units_moved"] == 500 and "of which 500 shares frozen" in describe(done)
    lhr = reg.assets.token("LHR-GH12B").functions
    assert lhr.getFrozenTokens(ayesha.address).call() == 1_500 and lhr.balanceOf(fatima.address).call() == 2_100


def test_lien_blocks_encumbered_shares_until_released_and_its_beneficiary_can_change(env, accounts):
    reg, signers, _ = env
    ayesha, _, fatima = signers[:3]
    bank, new_bank = accounts[9], accounts[8]
    lien = reg.enforcement.create_lien("LHR-GH12B", ayesha.address, bank.address, 2_000, "mortgage MCB-889")
    with pytest.raises(TransferRejected, match="InsufficientUnlockedBalance"):
        reg.transfers.transfer("LHR-GH12B", ayesha, fatima.address, 501)
    lien_id = lien.facts["lien_id"]
    reg.enforcement.change_lien_beneficiary("LHR-GH12B", lien_id, new_bank.address, signer=bank)
    with pytest.raises(CustomErrorRevert, match="AccessControlUnauthorizedAccount"):  # the old key cannot release
        reg.enforcement.release_lien("LHR-GH12B", lien_id, signer=bank)
    reg.enforcement.release_lien("LHR-GH12B", lien_id, signer=new_bank)
    reg.transfers.transfer("LHR-GH12B", ayesha, fatima.address, 501)


def test_pipelined_transfers(env):
    reg, signers, _ = env
    ayesha, bilal, fatima = signers[:3]
    receipts = reg.transfers.transfer_many([("LHR-GH12B", ayesha, fatima.address, 10)] * 5 + [("LHR-GH12B", bilal, fatima.address, 7)] * 3)
    assert len(receipts) == 8 and all(r.status == 1 for r in receipts)
    assert reg.assets.token("LHR-GH12B").functions.balanceOf(fatima.address).call() == 1_500 + 71


# --------------------------------------------------------------------------------------------------- commodity


def test_redemption_from_several_lots_and_reject(env):
    reg, signers, _ = env
    omar, bilal = signers[4], signers[1]
    gold = reg.assets.token("KHI-GOLD").functions
    reg.transfers.transfer("KHI-GOLD", signers[3], omar.address, "1 kg")  # Omar: 3 kg
    rid = reg.redemptions.request_redemption("KHI-GOLD", omar, "2.8 kg", "deliver Riyadh")
    assert gold.lockedBalanceOf(omar.address).call() == 2_800_000
    with pytest.raises(RegistrarError, match="the lots KHI-LOT-2026-002 hold 2500000: add lots"):
        reg.redemptions.fulfil_redemption("KHI-GOLD", rid, ["KHI-LOT-2026-002"])  # larger than this one lot
    reserve = gold.attestedReserve().call()
    reg.redemptions.fulfil_redemption("KHI-GOLD", rid, ["KHI-LOT-2026-002", "KHI-LOT-2026-001"])
    assert gold.balanceOf(omar.address).call() == 200_000 and gold.attestedReserve().call() == reserve - 2_800_000
    assert gold.lot(b"KHI-LOT-2026-002".ljust(32, b"\0")).call()[0] == 0
    rid2 = reg.redemptions.request_redemption("KHI-GOLD", bilal, "1 g", "pickup")
    reg.redemptions.reject_redemption("KHI-GOLD", rid2, "no show")
    assert gold.lockedBalanceOf(bilal.address).call() == 0
    assert gold.totalSupply().call() <= gold.attestedReserve().call()


def test_lot_attestation_is_idempotent_and_raises_reserve(env, tmp_path):
    reg, _, _ = env
    (tmp_path / "r.txt").write_text("receipt 3")
    lot = LotSpec(lot_id="KHI-LOT-2026-003", vault="bay 16", quantity=1_000, receipt_file=tmp_path / "r.txt")
    assert reg.redemptions.attest_lot("KHI-GOLD", lot).status == "done"
    assert reg.redemptions.attest_lot("KHI-GOLD", lot).status == "skipped"
    assert reg.assets.asset("KHI-GOLD").max_supply == 7_501_000
    with pytest.raises(RegistrarError, match="commodity"):
        reg.redemptions.attest_lot("LHR-GH12B", lot)


# --------------------------------------------------------------------------------------------------- distributions


@pytest.fixture
def rent(env):
    reg, _, _ = env
    pkr = reg.session.deployer.deploy("TestStablecoin")
    reg.tx.transact(pkr.functions.mint(reg.tx.address, 10**12))
    record = reg.session.chain.w3.eth.block_number
    expiry = dt.datetime.fromtimestamp(reg.session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    outcome = reg.distributions.distribute("LHR-GH12B", pkr.address, 950_001, expiry, record)
    return outcome, pkr


def test_distribution_pro_rata_claims_and_double_claim(env, rent):
    reg, signers, _ = env
    outcome, pkr = rent
    dist = outcome.facts["distribution_id"]
    plan = reg.distributions.plan(dist)
    assert sum(a for _, _, a in plan.entries) == 950_001
    saved = json.loads(open(outcome.facts["proofs_file"]).read())
    assert saved["merkleRoot"] == "0x" + plan.root.hex() and len(saved["claims"]) == 5
    ayesha = signers[0]
    reg.transfers.transfer("LHR-GH12B", ayesha, signers[2].address, 1_000)  # after the record block: changes nothing
    reg.distributions.claim(dist, ayesha.address)
    expected = dict((w, a) for _, w, a in plan.entries)[ayesha.address]
    assert pkr.functions.balanceOf(ayesha.address).call() == expected
    assert reg.distributions.claim(dist, ayesha.address).status == "skipped"


def test_distributions_pay_only_who_may_be_paid(env, rent):
    """Issue item 4: anyone could trigger the claim of a recovered-from wallet, or of a frozen wallet."""
    reg, signers, _ = env
    outcome, pkr = rent
    dist = outcome.facts["distribution_id"]
    plan = reg.distributions.plan(dist)
    entitled = {w: a for _, w, a in plan.entries}
    fatima, fund, bilal2 = signers[2].address, signers[3].address, signers[6].address
    reg.enforcement.freeze("LHR-GH12B", fund)
    with pytest.raises(RegistrarError, match="cannot be paid now"):
        reg.distributions.claim(dist, fund)
    with pytest.raises(CustomErrorRevert, match="PayeeNotAllowed"):  # a client skipping the check gets no further
        index, amount, proof = plan.proof(fund)
        reg.tx.transact(reg.stack.distributions.functions.claim(dist, index, fund, amount, proof))
    new = Account.create().address
    reg.investors.recover_wallet(fatima, new)
    paid = reg.distributions.claim(dist, fatima)
    assert paid.facts["payee"] == new and pkr.functions.balanceOf(new).call() == entitled[fatima]
    assert pkr.functions.balanceOf(fatima).call() == 0
    reg.distributions.withhold(dist, [bilal2])
    with pytest.raises(RegistrarError, match="withholds"):
        reg.distributions.claim(dist, bilal2)
    reg.distributions.withhold(dist, [bilal2], withheld=False)
    assert reg.distributions.claim(dist, bilal2).status == "done"


def test_claim_many_pays_exactly_the_entitlements_once(env, rent):
    """Issue 12: claims pipelined like transfers; the registrar pays its payees in one call, a second call sends
    nothing."""
    reg, _, _ = env
    outcome, pkr = rent
    dist = outcome.facts["distribution_id"]
    entitled = {w: a for _, w, a in reg.distributions.plan(dist).entries}
    before = {w: pkr.functions.balanceOf(w).call() for w in entitled}
    paid = reg.distributions.claim_many(dist, list(entitled))
    assert paid.status == "done" and paid.facts["claimed"] == len(entitled) == len(paid.txs)
    assert paid.facts["amount"] == sum(entitled.values()) == 950_001 and paid.facts["refused"] == []
    assert {w: pkr.functions.balanceOf(w).call() - before[w] for w in entitled} == entitled
    block = reg.session.chain.w3.eth.block_number
    again = reg.distributions.claim_many(dist, list(entitled))
    assert again.status == "skipped" and again.txs == [] and again.facts["skipped"] == len(entitled)
    assert reg.session.chain.w3.eth.block_number == block  # nothing sent
    assert "0 claims" in describe(again)


def test_claim_many_self_signed_refuses_the_withheld_and_pays_the_others(env, rent):
    reg, signers, _ = env
    outcome, pkr = rent
    dist = outcome.facts["distribution_id"]
    entitled = {w: a for _, w, a in reg.distributions.plan(dist).entries}
    own = [s for s in signers if s.address in entitled]
    withheld = own[1].address
    reg.distributions.withhold(dist, [withheld])
    before = {w: pkr.functions.balanceOf(w).call() for w in entitled}
    nonces = {s.address: reg.session.chain.w3.eth.get_transaction_count(s.address) for s in own}
    paid = reg.distributions.claim_many(dist, own)  # each claimant signs its own claim
    assert paid.facts["refused"] == [{"account": withheld, "reason": "withheld by the registrar"}]
    assert paid.facts["claimed"] == len(own) - 1
    assert {w: pkr.functions.balanceOf(w).call() - before[w] for w in entitled} == {
        w: (0 if w == withheld else a) for w, a in entitled.items()}
    assert {s.address: reg.session.chain.w3.eth.get_transaction_count(s.address) - nonces[s.address] for s in own} == {
        s.address: (0 if s.address == withheld else 1) for s in own}  # nothing sent for the refused one
    assert "refused" in describe(paid) and withheld in describe(paid)
    with pytest.raises(RegistrarError, match="no entitlement"):
        reg.distributions.claim_many(dist, [Account.create().address])
    reg.distributions.withhold(dist, [withheld], withheld=False)
    assert reg.distributions.claim_many(dist, list(entitled)).facts == {
        "distribution_id": dist, "claimed": 1, "amount": entitled[withheld], "skipped": len(entitled) - 1,
        "refused": []}


def test_pro_rata_is_exact():
    shares = pro_rata({"a": 1, "b": 1, "c": 1}, 100)
    assert sum(shares.values()) == 100 and sorted(shares.values()) == [33, 33, 34]
    with pytest.raises(RegistrarError):
        pro_rata({}, 5)


def test_entitlements_from_the_ledger_match_the_chain(env, tmp_path):
    from rwaledger.ledger import Ledger

    reg, signers, _ = env
    record = reg.session.chain.w3.eth.block_number
    reg.transfers.transfer("LHR-GH12B", signers[0], signers[2].address, 333)  # after the record block: must not count
    from_logs = reg.distributions.plan_distribution("LHR-GH12B", 1_000_003, record)
    from_ledger = reg.distributions.plan_distribution("LHR-GH12B", 1_000_003, record, ledger=Ledger.open(tmp_path / "l.sqlite"))
    assert from_ledger.entries == from_logs.entries and from_ledger.root == from_logs.root
    assert sum(a for _, _, a in from_ledger.entries) == 1_000_003


# --------------------------------------------------------------------------------------------------- bad input


def test_bad_inputs_are_clear_and_change_nothing(env):
    reg, signers, _ = env
    before = _state(reg)
    with pytest.raises(AssetNotFound, match="no asset with symbol 'NOPE'"):
        reg.assets.asset("NOPE")
    with pytest.raises(AssetNotFound):
        reg.assets.asset(99)
    with pytest.raises(RegistrarError, match="must be positive"):
        reg.transfers.transfer("LHR-GH12B", signers[0], signers[2].address, -5)
    with pytest.raises(RegistrarError, match="bad checksum"):
        reg.transfers.transfer("LHR-GH12B", signers[0], "0x90F79bf6EB2c4f870365E785982E1f101E93B906", 1)
    with pytest.raises(RegistrarError, match="carries no EIP-55 checksum"):  # issue item 10: all lower case
        reg.transfers.transfer("LHR-GH12B", signers[0], signers[2].address.lower(), 1)
    with pytest.raises(SpecError, match="field amount"):
        parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[0].address, "amount": -1}, "mint")
    assert _state(reg) == before


def test_a_missing_document_fails_before_anything_is_sent(env, tmp_path, root):
    """Issue item 10: a spec naming a missing document used to register the asset on chain (5 blocks) first."""
    reg, _, examples = env
    src = (examples / "lahore-apartment.toml").read_text()
    bad = tmp_path / "missing-doc.toml"
    bad.write_text(src.replace('symbol = "LHR-GH12B"', 'symbol = "LHR-NEW"').replace("KHEWAT-1187", "KHEWAT-9999"))
    before = _state(reg)
    with pytest.raises(SpecError, match=r"missing-doc.toml: field documents.0: cannot read .*lhr-gh12b-fard.txt"):
        load_spec(bad)
    assert _state(reg) == before


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("asset,to,amount,reference\n", "no rows after the header"),
    ("asset,to,reference\nLHR-GH12B,0x70997970C51812dc3A010C7d01b50e0d17dc79C8,x\n", "missing column 'amount'"),
    ("asset,to,amount,colour\n", "unknown column 'colour'"),
])
def test_bad_csv_files_are_refused(tmp_path, text, message):
    csv = tmp_path / "a.csv"
    csv.write_text(text)
    with pytest.raises(SpecError, match=message):
        load_csv(csv, MintRequest)


def test_bad_spec_file_names_file_and_field(tmp_path, root):
    examples = root / "scripts" / "examples"
    src = (examples / "lahore-apartment.toml").read_text()
    (tmp_path / "documents").symlink_to(examples / "documents")  # the spec's documents resolve beside it
    bad = tmp_path / "bad.toml"
    bad.write_text(src.replace('jurisdiction = "PK"', 'jurisdiction = "XX"'))
    with pytest.raises(SpecError, match=r"bad.toml: field jurisdiction: unknown ISO 3166 country 'XX'"):
        load_spec(bad)
    bad.write_text(src.replace("total_shares = 10000", "total_shares = -3"))
    with pytest.raises(SpecError, match=r"bad.toml: field total_shares: Input should be greater than 0"):
        load_spec(bad)
    bad.write_text(src.replace('legal_reference = "LHR', 'legal_reference = "LHR#'))
    with pytest.raises(SpecError, match=r"bad.toml: field legal_reference: .*character '#'.*has no canonical form"):
        load_spec(bad)
    bad.write_text(src.replace("[valuation]", "[valuation\n"))
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)
    csv = tmp_path / "inv.csv"
    csv.write_text("wallet,country,kyc_expiry\n0x70997970C51812dc3A010C7d01b50e0d17dc79C8,PK,2027-01-01\nnot-an-address,PK,2027-01-01\n")
    with pytest.raises(SpecError, match=r"inv.csv:3: field wallet"):
        load_csv(csv, InvestorSpec)


def test_category_and_foreign_caps_through_the_service(env):
    reg, signers, _ = env
    lhr = reg.assets.token("LHR-GH12B").functions
    rules = TransferRules(blocked_countries=["KP", "IR"], max_holders=500, max_balance=4000,
                          max_retail_holders=2, max_foreign_share_percent="30")
    assert reg.assets.set_rules("LHR-GH12B", rules).status == "done"
    assert tuple(lhr.holderCaps().call()) == (2, 0, 0, 0, 3000)
    ayesha, fatima = signers[0], signers[2]  # retail holders: Ayesha (PK) and Fatima (AE): the cap is full
    newcomer = Account.create().address
    reg.investors.add(parse(InvestorSpec, {"wallet": newcomer, "country": "PK", "kyc_expiry": "2030-01-01"}, "new"))
    with pytest.raises(TransferRejected, match="CategoryHoldersExceeded"):
        reg.transfers.transfer("LHR-GH12B", ayesha, newcomer, 1)
    # foreign investors hold 1,500 (Fatima) + 2,000 (the fund) of 9,500: 36.8% > 30% already, so no move may raise
    # the foreign share, but a move between two foreign holders may happen
    with pytest.raises(TransferRejected, match="ForeignShareExceeded"):
        reg.transfers.transfer("LHR-GH12B", ayesha, fatima.address, 1)
    reg.transfers.transfer("LHR-GH12B", fatima, signers[3].address, 1)


# --------------------------------------------------------------------------------------------------- typed results


def test_every_action_has_its_sentence():
    """The renderer words every act a service can return (a new Action without a sentence fails here)."""
    from rwaledger.render import SENTENCES
    from rwaledger.services import Action

    assert set(SENTENCES) == set(Action)


def test_the_contract_kinds_of_the_decoder_are_built_once_and_again_for_a_new_asset(env):
    """decode_events reads one address -> contract kind map per context: built at the first decoding, rebuilt only
    when an asset is resolved (its token decodes by its kind from then on) or the assets are forgotten."""
    from rwaledger.ledger.decode import TOKEN_KINDS

    reg, signers, _ = env
    ctx = Services(reg.stack).ctx
    kinds = ctx.contract_kinds()
    assert ctx.contract_kinds() is kinds and kinds[reg.stack.registry.address.lower()] == "registry"
    assert not set(kinds.values()) & set(TOKEN_KINDS)  # no asset resolved yet
    gold = ctx.handle("KHI-GOLD")
    with_gold = ctx.contract_kinds()
    assert with_gold is not kinds and with_gold[gold.token.lower()] == "commodity"
    mint = Services(ctx).issuance.mint
    first = mint(parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[0].address, "amount": "3",
                                     "reference": "kinds-1"}, "kinds"))
    built = ctx.contract_kinds()  # the apartment was resolved by the mint
    assert built[ctx.handle("LHR-GH12B").token.lower()] == "property" and built[gold.token.lower()] == "commodity"
    second = mint(parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[1].address, "amount": "2",
                                      "reference": "kinds-2"}, "kinds"))
    assert ctx.contract_kinds() is built  # decoding again rebuilt nothing
    for result, to, value in ((first, signers[0], "3"), (second, signers[1], "2")):
        (transfer,) = [e for e in result.events if e.event == "Transfer"]
        assert (transfer.address, transfer.args["to"], transfer.args["value"]) == (
            ctx.handle("LHR-GH12B").token, to.address, value)
    ctx.forget_assets()
    assert ctx.contract_kinds() == kinds


def test_a_result_carries_its_transactions_blocks_and_decoded_events(env):
    reg, signers, _ = env
    w3 = reg.stack.w3
    result = reg.issuance.mint(parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[0].address, "amount": "7",
                                                  "reference": "typed-result-1"}, "typed"))
    assert result.status == "done" and result.action == "mint" and result.asset.symbol == "LHR-GH12B"
    (tx,) = result.txs
    receipt = w3.eth.get_transaction_receipt(tx.hash)
    assert tx.block == receipt["blockNumber"] and tx.gas_used == receipt["gasUsed"]
    transfers = [e for e in result.events if e.event == "Transfer"]
    assert transfers and transfers[0].address == reg.assets.token("LHR-GH12B").address
    assert transfers[0].args["to"] == signers[0].address and transfers[0].args["value"] == "7"
    assert describe(result) == f"minted 7 shares to {signers[0].address}"
    # the same allocation again: skipped, nothing sent, no transactions and no events
    again = reg.issuance.mint(parse(MintRequest, {"asset": "LHR-GH12B", "to": signers[0].address, "amount": "7",
                                                 "reference": "typed-result-1"}, "typed"))
    assert again.status == "skipped" and again.txs == [] and again.events == [] and again.tx_hash is None


def test_services_build_one_context_from_its_arguments_or_take_one(env, tmp_path):
    """``Services(stack, ...)`` takes ServiceContext's arguments (one list of them: its signature is the
    context's) and builds one context that every service shares; ``Services(ctx)`` shares a context made before."""
    import inspect

    reg, signers, _ = env
    ledger = object()
    built = Services(reg.stack, tmp_path, ledger=ledger, compliance=signers[0], via=None)
    ctx = built.ctx
    assert (ctx.stack, ctx.distributions_dir, ctx.ledger, ctx.via) == (reg.stack, tmp_path, ledger, [])
    assert ctx._role_signers == {"compliance": signers[0], "custodian": None, "guardian": None}
    assert all(getattr(built, name).ctx is ctx for name in (
        "assets", "investors", "issuance", "transfers", "enforcement", "redemptions", "distributions"))
    assert built.stack is reg.stack and built.session is reg.stack.session
    shared = Services(ctx)
    assert shared.ctx is ctx and shared.stack is reg.stack and shared.assets.ctx is ctx
    with pytest.raises(TypeError):
        Services(ctx, ledger=ledger)
    with pytest.raises(TypeError):
        Services(reg.stack, custodain=signers[0])  # a misspelt keyword is still refused
    assert list(inspect.signature(Services).parameters) == [
        "stack", "distributions_dir", "ledger", "compliance", "custodian", "guardian", "via"]


def test_an_asset_is_resolved_once_then_read_from_the_cache(env):
    """A symbol, an id and the token's address resolve to the one handle read the first time (the same contract
    object: nothing is read again to find the token, where the old registrar made 2-3 RPCs per call)."""
    reg, signers, _ = env
    fresh = Services(reg.stack)
    first = fresh.ctx.handle("lhr-gh12b")
    assert fresh.ctx.handle("LHR-GH12B") is first and fresh.ctx.handle(first.token) is first
    assert fresh.ctx.handle(first.asset_id) is first and fresh.assets.token("Lhr-Gh12b") is first.contract
    assert (first.symbol, first.kind, first.decimals, first.unit) == ("LHR-GH12B", "property", 0, "share")
    with pytest.raises(AssetNotFound):  # a warm cache still refuses an unknown asset, by symbol and by id
        fresh.assets.token("NOPE")
    with pytest.raises(AssetNotFound):
        fresh.assets.token(99)


def test_a_reorg_that_removed_an_asset_refuses_its_symbol_instead_of_acting_on_another(env, chain, root):
    """The defect (ORPH-P): after a reorg removed asset ORPH-P, the cache still resolved its symbol to asset #3,
    which on the new branch is another asset, and `mint(asset='ORPH-P')` minted that asset's units."""
    reg, signers, examples = env
    fresh = Services(reg.stack)
    fork = chain.snapshot()
    spec = _spec(examples, symbol="ORPH-P", legal_reference="LHR/ORPHAN/KHEWAT-1/KHASRA-1")
    fresh.assets.register(spec)
    orphan_id = fresh.ctx.asset_id("ORPH-P")  # cached
    chain.revert(fork)  # the reorg: the registration is gone
    other = _spec(examples, symbol="OTHER-P", legal_reference="LHR/OTHER/KHEWAT-2/KHASRA-2")
    Services(reg.stack).assets.register(other)  # the new branch: another asset takes the same id
    assert Services(reg.stack).ctx.asset_id("OTHER-P") == orphan_id
    supply = Services(reg.stack).assets.asset("OTHER-P").total_supply
    with pytest.raises(RwaError, match="no asset with symbol 'ORPH-P'"):
        fresh.issuance.mint(MintRequest(asset="ORPH-P", to=signers[0].address, amount=5, reference="orph-1"))
    assert Services(reg.stack).assets.asset("OTHER-P").total_supply == supply  # nothing minted on the other asset
    assert fresh.ctx.handle("OTHER-P").symbol == "OTHER-P"  # the cache was read again, from this branch
