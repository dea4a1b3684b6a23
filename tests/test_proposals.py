"""Services operations proposed to a 2-of-3 Safe, approved by its owners and executed, on both local chains.

``Services(stack, via=SafeRoute(...))`` checks each operation as it always does and stores it as a Safe transaction
(with its EIP-712 hash, each call in plain words) in the ledger database instead of sending it; owners approve with
verified EIP-712 signatures; execution needs the threshold, runs in nonce order and never twice. A batch of 100
mints is one MultiSend transaction: all or nothing.
"""

from __future__ import annotations

import json

import pytest
from eth_utils import keccak, to_checksum_address
from web3.logs import DISCARD
from sqlalchemy import update

from rwaledger import safe as safes
from rwaledger.errors import ContractRevert, ReasonRevert
from rwaledger.ledger import Ledger, schema
from rwaledger.models import InvestorSpec, MintRequest, PropertySpec
from rwaledger.proposals import EXECUTED, OPEN, ProposalError, ProposalStore, SafeRoute, short
from rwaledger.services import Services, RegistrarError
from rwaledger.roles import deploy_with_roles, parse_holder
from rwaledger.session import open_session
from rwaledger.signers import Signer
from rwaledger.stack import deploy_stack

pytestmark = pytest.mark.chains("tester", "anvil")

BATCH = 100


@pytest.fixture(scope="module")
def env(chain, rwa_build, tmp_path_factory):
    """Services and compliance roles held by a 2-of-3 Safe of dev accounts 1..3; one Active property with verified
    investors (registered before the roles moved); the proposals kept in a ledger database."""
    snapshot = chain.snapshot()
    session = open_session(chain=chain, build=rwa_build, record=False)
    keys = chain.dev_accounts
    owners = [Signer(keys[i], f"owner {i}") for i in (1, 2, 3)]
    stranger = Signer(keys[4], "stranger")
    infra = safes.deploy_safe_infrastructure(session)
    stack = deploy_stack(session)
    direct = Services(stack)
    spec = {"kind": "property", "name": "Gulberg Heights 12B", "symbol": "LHR-GH12B", "jurisdiction": "PK",
            "legal_reference": "LHR/GULBERG-III/KHEWAT-1187/PROPOSALS", "total_shares": 10_000,
            "valuation": {"amount": "1000000", "currency": "PKR", "date": "2026-01-01"},
            "metadata_uri": "ipfs://proposals", "location": "Gulberg III, Lahore"}
    from rwaledger.models import parse

    direct.assets.register(parse(PropertySpec, spec, "spec"))
    investors = [keys[5].address, keys[6].address] + [to_checksum_address(keccak(text=f"holder {i}")[12:]) for i in range(BATCH)]
    expiry = "2030-01-01"
    direct.investors.add_many([parse(InvestorSpec, {"wallet": w, "country": "PK", "kyc_expiry": expiry}, "inv")
                          for w in investors])
    spec = ",".join(o.address for o in owners) + ":2"
    _, held = deploy_with_roles(session, {r: parse_holder(r, spec, "test") for r in ("registrar", "compliance")})
    vault = session.chain.w3.eth.contract(address=held["registrar"], abi=infra.singleton.abi)
    ledger = Ledger.open(str(tmp_path_factory.mktemp("proposals") / "ledger.sqlite"))
    route = SafeRoute(session, stack, vault, ProposalStore(ledger.engine), infra)
    registrar = Services(stack, via=route)
    yield session, stack, infra, vault, owners, stranger, investors, route, registrar, ledger
    ledger.close()
    chain.revert(snapshot)


@pytest.fixture(autouse=True)
def _isolated(isolation, env):
    yield
    with env[9].engine.begin() as conn:  # the proposals of one test are not the next test's
        conn.execute(schema.safe_approvals.delete())
        conn.execute(schema.safe_proposals.delete())


def _mint(registrar, to, amount="2500", ref="sale-deed-2026-0101"):
    return registrar.issuance.mint(MintRequest(asset="LHR-GH12B", to=to, amount=amount, reference=ref))


def _balance(stack, who):
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    return token.functions.balanceOf(who).call()


def test_a_mint_is_proposed_in_plain_words_and_nothing_is_sent(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    block = session.chain.w3.eth.block_number
    outcome = _mint(registrar, investors[0])
    assert outcome.status == "proposed" and outcome.tx_hash is None
    assert session.chain.w3.eth.block_number == block and _balance(stack, investors[0]) == 0
    p = route.store.get(outcome.proposal.id)
    assert p.status == OPEN and p.tx.nonce == vault.functions.nonce().call()
    assert [c.text for c in p.calls] == [f"mint 2,500 shares LHR-GH12B to {short(investors[0])} ref sale-deed-2026-0101"]
    theirs = vault.functions.getTransactionHash(p.tx.to, 0, p.tx.data, 0, 0, 0, 0, safes.ZERO, safes.ZERO,
                                                p.tx.nonce).call()
    assert p.safe_tx_hash == "0x" + bytes(theirs).hex()
    assert route.precheck(p) == (True, "ok")


def test_one_approval_cannot_execute_and_two_do(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    pid = _mint(registrar, investors[0]).proposal.id
    route.approve(pid, owners[0])
    block = session.chain.w3.eth.block_number
    with pytest.raises(ProposalError, match="1 of the 2 approvals"):
        route.execute(pid)
    assert session.chain.w3.eth.block_number == block and _balance(stack, investors[0]) == 0
    route.approve(pid, owners[2])
    p, receipt = route.execute(pid)
    assert p.status == EXECUTED and p.executed_tx == receipt.tx_hash and sorted(p.signers) == sorted(
        [owners[0].address, owners[2].address])
    assert _balance(stack, investors[0]) == 2500
    with pytest.raises(ProposalError, match="executed"):  # a replay is refused before anything is sent
        route.execute(pid)
    with pytest.raises(ProposalError, match="executed"):
        route.approve(pid, owners[1])


def test_approvals_the_service_refuses(env):
    session, stack, _, vault, owners, stranger, investors, route, registrar, ledger = env
    pid = _mint(registrar, investors[0]).proposal.id
    with pytest.raises(ProposalError, match="no owner"):
        route.approve(pid, stranger)
    route.approve(pid, owners[0])
    with pytest.raises(ProposalError, match="approved proposal .* already"):
        route.approve(pid, owners[0])
    p = route.store.get(pid)
    with pytest.raises(ProposalError, match="no owner"):  # a signature made elsewhere, by a non-owner
        route.add_signature(pid, safes.sign(stranger, p.tx))
    other = safes.safe_tx(vault, p.tx.to, p.tx.data[:-1] + b"\x01", nonce=p.tx.nonce)  # over other data
    with pytest.raises(ProposalError, match="no owner"):
        route.add_signature(pid, safes.sign(owners[1], other))
    with ledger.engine.begin() as conn:  # the stored transaction is changed behind the owners' backs
        conn.execute(update(schema.safe_proposals).where(schema.safe_proposals.c.id == pid)
                     .values(data="0x" + other.data.hex()))
    with pytest.raises(ProposalError, match="no longer hash"):
        route.approve(pid, owners[1])
    with pytest.raises(ProposalError, match="no longer hash"):
        route.execute(pid)
    assert _balance(stack, investors[0]) == 0


def test_proposals_run_in_nonce_order(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    first = _mint(registrar, investors[0], "10", "order-1").proposal.id
    second = _mint(registrar, investors[1], "20", "order-2").proposal.id
    p1, p2 = route.store.get(first), route.store.get(second)
    assert p2.tx.nonce == p1.tx.nonce + 1
    for pid in (first, second):
        route.approve(pid, owners[0])
        route.approve(pid, owners[1])
    with pytest.raises(ProposalError, match="execute the earlier proposals"):
        route.execute(second)
    assert _balance(stack, investors[1]) == 0
    route.execute(first)
    route.execute(second)
    assert (_balance(stack, investors[0]), _balance(stack, investors[1])) == (10, 20)


def test_a_proposal_whose_nonce_was_used_is_replaced_not_run(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    stale = _mint(registrar, investors[0], "10", "stale-1").proposal.id
    p = route.store.get(stale)
    # the same nonce used outside the service (another transaction of the Safe's owners)
    replacement = safes.safe_tx(vault, stack.registry.address,
                                stack.registry.encode_abi("setStatus", args=[1, 2]), nonce=p.tx.nonce)
    safes.execute(session, vault, replacement, [safes.sign(owners[0], replacement), safes.sign(owners[1], replacement)])
    assert vault.functions.nonce().call() == p.tx.nonce + 1
    with pytest.raises(ProposalError, match="nonce .* used"):
        route.approve(stale, owners[0])
    with pytest.raises(ProposalError, match="used by another transaction"):
        route.execute(stale)
    assert route.store.get(stale).status == "replaced" and _balance(stack, investors[0]) == 0


def test_the_precheck_decodes_what_the_safe_could_not_do(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    with pytest.raises(ContractRevert) as info:  # the token is not paused: unpausing would revert; nothing is stored
        route.propose([token.functions.unpause()], "unpausing")
    if session.chain.kind == "anvil":  # run as a call from the Safe: the token's own error (eth-tester keeps none)
        assert info.value.name == "ExpectedPause"
    assert route.store.list() == []
    stray = Signer(session.chain.dev_accounts[7], "someone")
    with pytest.raises(RegistrarError):  # refused by the registrar's own checks first (not verified)
        _mint(registrar, stray.address)
    assert route.store.list() == []


def test_a_role_the_safe_does_not_hold_is_refused(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    with pytest.raises(RegistrarError, match="custodian role, which none of the Safes"):
        registrar.redemptions.reject_redemption("LHR-GH12B", 1, "no")


def test_a_forced_transfer_and_a_freeze_through_the_safe(env):
    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    pid = _mint(registrar, investors[0], "100", "ft-1").proposal.id
    for o in owners[:2]:
        route.approve(pid, o)
    route.execute(pid)
    ft = registrar.enforcement.forced_transfer("LHR-GH12B", investors[0], investors[1], "40", "court-order-7")
    assert ft.status == "proposed"
    (call,) = route.store.get(ft.proposal.id).calls
    assert call.text == (f"forced transfer of 40 shares LHR-GH12B from {short(investors[0])} to {short(investors[1])}, "
                         "reason court-order-7")
    fr = registrar.enforcement.freeze("LHR-GH12B", investors[1])
    assert route.store.get(fr.proposal.id).calls[0].text == f"freeze {short(investors[1])} in LHR-GH12B"
    for pid in (ft.proposal.id, fr.proposal.id):
        for o in owners[1:]:
            route.approve(pid, o)
        route.execute(pid)
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    assert (_balance(stack, investors[0]), _balance(stack, investors[1])) == (60, 40)
    assert token.functions.isFrozen(investors[1]).call()


def test_a_batch_of_100_mints_is_one_safe_transaction_all_or_nothing(env):
    session, stack, infra, vault, owners, _, investors, route, registrar, _ = env
    recipients = investors[2:]
    requests = [MintRequest(asset="LHR-GH12B", to=w, amount="3", reference=f"batch-{i}")
                for i, w in enumerate(recipients)]
    outcome = registrar.issuance.mint_many(requests, chunk=40)  # three batchMint calls in one MultiSend
    p = route.store.get(outcome.proposal.id)
    assert p.tx.operation == safes.DELEGATECALL and p.tx.to == infra.multisend.address and len(p.calls) == 3
    assert p.calls[0].text == "mint 120 shares LHR-GH12B to 40 recipients"
    for o in owners[:2]:
        route.approve(pid := p.id, o)
    # one recipient stops being verified after the proposal: the batch now fails as a whole
    ident = stack.identity  # the deployer no longer holds compliance: the Safe deletes the investor itself
    delete = safes.safe_tx(vault, ident.address, ident.encode_abi("deleteIdentity", args=[recipients[-1]]))
    safes.execute(session, vault, delete, [safes.sign(owners[0], delete), safes.sign(owners[1], delete)])
    assert route.precheck(route.store.get(pid))[0] is False
    token = stack.token(stack.registry.functions.tokenOf(1).call(), "property")
    supply = token.functions.totalSupply().call()
    with pytest.raises(ProposalError, match="nonce .* used"):  # the deletion took its nonce: propose again
        route.execute(pid)
    bad = safes.multisend(infra, vault, [(c.to, c.data) for c in p.calls])
    with pytest.raises(ReasonRevert, match="GS013"):  # and the Safe itself runs all of it or nothing
        safes.execute(session, vault, bad, [safes.sign(owners[0], bad), safes.sign(owners[1], bad)])
    assert token.functions.totalSupply().call() == supply
    ok = registrar.issuance.mint_many(requests[:-1], chunk=40)
    pid = ok.proposal.id
    for o in owners[1:]:
        route.approve(pid, o)
    route.execute(pid)
    assert token.functions.totalSupply().call() == supply + 3 * (BATCH - 1)
    assert all(token.functions.balanceOf(w).call() == 3 for w in recipients[:-1])


def test_proposals_and_approvals_are_kept_in_the_ledger(env):
    session, stack, _, vault, owners, _, investors, route, registrar, ledger = env
    pid = _mint(registrar, investors[0], "5", "kept-1").proposal.id
    route.approve(pid, owners[1])
    again = ProposalStore(Ledger.open(str(ledger.engine.url.database)).engine)  # another process, same database
    p = again.get(pid)
    assert p.signers == [owners[1].address] and p.title == "minting"
    assert json.loads(json.dumps(p.to_dict()))["calls"][0]["text"].startswith("mint 5 shares LHR-GH12B")
    assert [x.id for x in again.list(status=OPEN)] == [pid]


def test_the_audit_reads_each_execution_and_its_signers_from_the_safes_events(env):
    session, stack, _, vault, owners, _, investors, route, registrar, ledger = env
    pid = _mint(registrar, investors[0], "7", "audit-1").proposal.id
    route.approve(pid, owners[2])
    route.approve(pid, owners[0])
    _, receipt = route.execute(pid)
    outside = safes.safe_tx(vault, stack.registry.address, stack.registry.encode_abi("setStatus", args=[1, 2]))
    safes.execute(session, vault, outside, [safes.sign(owners[1], outside), safes.sign(owners[2], outside)])
    ledger.sync(stack)
    executions, changes = ledger.safe_audit()
    mine, theirs = executions[-2:]
    assert (mine.proposal_id, mine.tx_hash, mine.success, mine.safe) == (pid, receipt.tx_hash, True, vault.address)
    assert sorted(mine.signers) == sorted([owners[0].address, owners[2].address])  # recovered from the signatures
    assert mine.approvals == [owners[2].address, owners[0].address] and mine.sender == session.signer.address
    assert mine.calls == [f"mint 7 shares LHR-GH12B to {short(investors[0])} ref audit-1"] and mine.title == "minting"
    assert theirs.proposal_id is None and sorted(theirs.signers) == sorted([owners[1].address, owners[2].address])
    assert theirs.nonce == mine.nonce + 1
    setup = [c for c in changes if c.event == "SafeSetup" and c.safe == vault.address]
    assert len(setup) == 1 and sorted(setup[0].args["owners"]) == sorted(o.address for o in owners)


def test_a_distribution_funded_by_the_safe_is_claimed_with_proofs_found_by_their_root(env, tmp_path):
    import datetime as dt

    session, stack, _, vault, owners, _, investors, route, registrar, _ = env
    pid = _mint(registrar, investors[0], "300", "dist-1").proposal.id
    for o in owners[:2]:
        route.approve(pid, o)
    route.execute(pid)
    pkr = session.deployer.deploy("TestStablecoin")
    session.tx.transact(pkr.functions.mint(vault.address, 10**9))  # the Safe pays the rent out
    board = Services(stack, via=route, distributions_dir=tmp_path)
    expiry = dt.datetime.fromtimestamp(session.chain.timestamp(), dt.timezone.utc) + dt.timedelta(days=30)
    proposed = board.distributions.distribute("LHR-GH12B", pkr.address, 600_000, expiry)
    p = route.store.get(proposed.proposal.id)
    assert p.tx.operation == safes.DELEGATECALL and [c.text.split("(")[0] for c in p.calls] == ["approve", "createDistribution"]
    assert (tmp_path / f"root-{proposed.facts['root'][2:]}.json").exists()
    for o in owners[1:]:
        route.approve(p.id, o)
    _, receipt = route.execute(p.id)
    (created,) = stack.distributions.events.DistributionCreated().process_receipt(receipt.raw, errors=DISCARD)
    dist_id = created["args"]["distributionId"]
    fresh = Services(stack, distributions_dir=tmp_path)  # another process: finds the proofs by the on-chain root
    claimed = fresh.distributions.claim(dist_id, investors[0])
    assert claimed.status == "done" and pkr.functions.balanceOf(investors[0]).call() == claimed.facts["amount"] > 0


def test_officers_approve_and_execute_a_proposal_through_the_api(env):
    """The officer API: owners of the Safe, logged in as officers, approve with their own keys and execute."""
    from fastapi.testclient import TestClient

    from rwaledger.api import create_app
    from rwaledger.officers import OfficerStore

    session, stack, _, vault, owners, _, investors, route, registrar, ledger = env
    officers = OfficerStore(ledger.engine)  # this chain's module ledger: the API and console tests make officers in it
    tokens = {name: officers.add(name, role, account=account)[1] for name, role, account in (
        ("Hina", "registrar", 1), ("Sana", "registrar", 3), ("Audit", "auditor", None), ("Stranger", "compliance", 4))}
    api = TestClient(create_app(ledger, stack=stack))
    as_ = lambda n: {"Authorization": f"Bearer {tokens[n]}"}  # noqa: E731
    pid = _mint(registrar, investors[0], "9", "api-approve-1").proposal.id
    listed = api.get("/api/officer/proposals", headers=as_("Audit")).json()
    assert [p["calls"][0]["text"] for p in listed if p["id"] == pid] == [
        f"mint 9 shares LHR-GH12B to {short(investors[0])} ref api-approve-1"]
    assert api.get(f"/api/officer/proposals/{pid}", headers=as_("Hina")).json()["precheck"] == "ok"
    path = f"/api/officer/proposals/{pid}/approvals"
    assert api.post(path).status_code == 401 and api.post(path, headers=as_("Audit")).status_code == 403
    assert api.post(path, headers=as_("Stranger")).status_code == 422  # no owner of the Safe: refused, not stored
    assert api.post(path, headers=as_("Hina")).json()["data"]["proposal"]["approvals"] == [owners[0].address]
    assert "already" in api.post(path, headers=as_("Hina")).json()["detail"]
    early = api.post(f"/api/officer/proposals/{pid}/execution", headers=as_("Hina"))
    assert early.status_code == 422 and "1 of the 2 approvals" in early.json()["detail"] and _balance(stack, investors[0]) == 0
    api.post(path, headers=as_("Sana"))
    done = api.post(f"/api/officer/proposals/{pid}/execution", headers=as_("Sana")).json()
    assert done["status"] == "done" and done["data"]["proposal"]["status"] == "executed" and done["tx_hashes"]
    assert _balance(stack, investors[0]) == 9


def test_officers_approve_and_execute_a_proposal_through_the_console(env):
    """The officer console against the Safe: the proposal page shows the call in plain words, its approvals and the
    pre-check; 'Approve with my key' and 'Execute' go through the officer API's routes with the session's CSRF."""
    import re

    from rwaledger.api import create_app
    from rwaledger.officers import OfficerStore
    from test_console import login

    session, stack, _, vault, owners, _, investors, route, registrar, ledger = env
    w3 = session.chain.w3
    officers = OfficerStore(ledger.engine)  # names of their own: the API test makes officers in this ledger too
    tokens = {name: officers.add(name, role, account=account)[1] for name, role, account in (
        ("Console Hina", "registrar", 1), ("Console Sana", "registrar", 3), ("Console Audit", "auditor", None))}
    app = create_app(ledger, stack=stack)
    hina, hina_csrf = login(app, tokens["Console Hina"])
    sana, sana_csrf = login(app, tokens["Console Sana"])
    audit, audit_csrf = login(app, tokens["Console Audit"])
    before = _balance(stack, investors[1])
    pid = _mint(registrar, investors[1], "7", "console-approve-1").proposal.id
    text = f"mint 7 shares LHR-GH12B to {short(investors[1])} ref console-approve-1"
    listed = hina.get("/officer/proposals")
    assert listed.status_code == 200 and f'href="/officer/proposals/{pid}"' in listed.text
    page = hina.get(f"/officer/proposals/{pid}").text
    assert text in page and "none yet" in page and 'id="precheck"' in page and "Would succeed now" in page
    assert '<span id="approval-count">0 of 2</span>' in page  # the Safe's threshold, read now
    assert f"/officer/proposals/{pid}/approve" in page and "Approve with my key" in page

    def approvals(client):
        html = client.get(f"/officer/proposals/{pid}").text
        return re.findall(r"0x[0-9a-fA-F]{40}", html.split("<dt>Approvals</dt>")[1].split("</dd>")[0])

    def act(client, csrf, what):
        r = client.post(f"/officer/proposals/{pid}/{what}", data={"csrf": csrf}, follow_redirects=False)
        assert r.status_code == 303, r.text[:500]
        return client.get(r.headers["location"])

    # an auditor signs nothing: refused, nothing stored
    r = audit.post(f"/officer/proposals/{pid}/approve", data={"csrf": audit_csrf})
    assert r.status_code == 403 and "signs no proposal" in r.text and approvals(hina) == []
    assert "Approve with my key" not in audit.get(f"/officer/proposals/{pid}").text
    # no CSRF, or another session's: refused, nothing stored
    assert hina.post(f"/officer/proposals/{pid}/approve", data={}).status_code == 403
    assert hina.post(f"/officer/proposals/{pid}/approve", data={"csrf": sana_csrf}).status_code == 403
    assert approvals(hina) == []
    # owner 1 approves with the key its officer account holds
    done = act(hina, hina_csrf, "approve")
    assert done.status_code == 200 and 'class="ok"' in done.text, done.text[:1500]
    assert approvals(hina) == [owners[0].address]
    # 1 of 2: the execution is refused in words and nothing is sent
    block = w3.eth.block_number
    early = act(hina, hina_csrf, "execute")
    assert 'class="bad"' in early.text and "1 of the 2 approvals" in early.text, early.text[:1500]
    assert w3.eth.block_number == block and _balance(stack, investors[1]) == before
    # owner 2 (account 3) approves; then the execution mints on chain
    assert 'class="ok"' in act(sana, sana_csrf, "approve").text
    assert approvals(sana) == [owners[0].address, owners[2].address]
    assert '<span id="approval-count">2 of 2</span>' in sana.get(f"/officer/proposals/{pid}").text
    done = act(sana, sana_csrf, "execute")
    assert 'class="ok"' in done.text and re.search(r"<li>0x[0-9a-f]{64}</li>", done.text), done.text[:1500]
    assert _balance(stack, investors[1]) == before + 7
    page = sana.get(f"/officer/proposals/{pid}").text
    assert "executed" in page and "Executed</dt>" in page and "Approve with my key" not in page
