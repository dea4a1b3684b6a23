"""Deployment records in hardhat-deploy's layout, and a deployer that uses them.

Layout (see ``deployments/README.md``)::

    deployments/<network>/.chain.json              # the chain's identity: chain id, a recorded block and its hash
    deployments/<network>/<ContractName>.json      # address, abi, tx hash, block, args, deployer, hashes
    deployments/<network>/solcInputs/<hash>.json   # the exact compiler input, kept once
    deployments/<network>/.pending/<ContractName>.json  # journal of a deployment not yet confirmed

Records are validated with pydantic on read. Nothing here stores a key or an
RPC URL. A deployment is journaled (with its signed raw transaction, which is
public data once broadcast) *before* it is broadcast, so a run killed mid-deploy
finds and confirms that same transaction next time instead of deploying twice.

The records carry the identity of the chain they describe (``.chain.json``: the chain id and the number and hash
of the block of the first recorded deployment). Before a deployer reuses or adds a record it checks that the node's
block at that number has that hash: a node that was reset, or another chain at the same URL, is named
(:class:`ChainChanged`) and nothing is deployed over the records unless ``redeploy`` is asked for, which sets the
old records aside under ``.replaced/`` first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from web3 import Web3
from web3.contract import Contract

from . import paths
from .chain import Chain
from .compiler import Artifact, CompileResult
from .errors import BytecodeChanged, ChainChanged, DeploymentError, DeploymentRecordError, NodeUnavailable
from .transactions import Receipt, Transactor


def _checksum(value: str) -> str:
    if not Web3.is_address(value):
        raise ValueError(f"not an address: {value!r}")
    return Web3.to_checksum_address(value)


class DeploymentRecord(BaseModel):
    """One deployed contract, as ``deployments/<network>/<Name>.json`` stores it."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    contract_name: str = Field(alias="contractName")
    address: str
    abi: list[dict[str, Any]]
    transaction_hash: str = Field(alias="transactionHash", pattern=r"^0x[0-9a-fA-F]{64}$")
    block_number: int = Field(alias="blockNumber", ge=0)
    args: list[Any] = Field(default_factory=list)
    deployer: str
    bytecode_hash: str = Field(alias="bytecodeHash", pattern=r"^0x[0-9a-f]{64}$")
    solc_input_hash: str = Field(alias="solcInputHash", pattern=r"^[0-9a-f]{64}$")
    num_deployments: int = Field(default=1, alias="numDeployments", ge=1)

    _address_ok = field_validator("address", "deployer")(_checksum)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


class PendingDeployment(BaseModel):
    """The journal entry written before a deployment is broadcast."""

    model_config = ConfigDict(populate_by_name=True)

    contract_name: str = Field(alias="contractName")
    transaction_hash: str = Field(alias="transactionHash")
    raw_transaction: str = Field(alias="rawTransaction")
    nonce: int
    deployer: str
    args: list[Any]
    bytecode_hash: str = Field(alias="bytecodeHash")
    solc_input_hash: str = Field(alias="solcInputHash")


class ChainIdentity(BaseModel):
    """Which chain a network's records describe: its id and one block (the first recorded deployment's) by hash."""

    model_config = ConfigDict(populate_by_name=True)

    chain_id: int = Field(alias="chainId")
    block: int | None = Field(None, ge=0, description="None: a record of only the chain id (an older layout)")
    hash: str | None = Field(None, pattern=r"^0x[0-9a-f]{64}$")

    def describe(self) -> str:
        return f"chain {self.chain_id}" + (f" whose block {self.block} is {self.hash}" if self.block is not None else "")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


NOT_RECORDS = frozenset({"roles.json"})  # files beside the records that are not contract records


class DeploymentStore:
    """The records of one network: on disk under ``root/<network>``, or in memory when ``root`` is None."""

    def __init__(self, network: str, root: Path | None = paths.DEPLOYMENTS_DIR):
        self.network = network
        self.dir = Path(root) / network if root is not None else None
        self._memory: dict[str, DeploymentRecord] = {}
        self._pending: dict[str, PendingDeployment] = {}
        self._roles: dict[str, dict[str, Any]] = {}

    @classmethod
    def in_memory(cls, network: str = "tester") -> "DeploymentStore":
        return cls(network, root=None)

    # --- reading ------------------------------------------------------------------

    def _read_model(self, path: Path, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate_json(path.read_text())
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(file)"
            raise DeploymentRecordError(f"{path}: field {field}: {first['msg']}") from None
        except OSError as exc:
            raise DeploymentRecordError(f"{path}: {exc.strerror}") from None

    def get(self, name: str) -> DeploymentRecord | None:
        if self.dir is None:
            return self._memory.get(name)
        path = self.dir / f"{name}.json"
        return self._read_model(path, DeploymentRecord) if path.exists() else None

    def all(self) -> dict[str, DeploymentRecord]:
        if self.dir is None:
            return dict(self._memory)
        if not self.dir.exists():
            return {}
        return {p.stem: self._read_model(p, DeploymentRecord) for p in sorted(self.dir.glob("*.json"))
                if not p.name.startswith(".") and p.name not in NOT_RECORDS}

    def chain_id(self) -> int | None:
        ident = self.identity()
        return ident.chain_id if ident else None

    def identity(self) -> ChainIdentity | None:
        """The chain these records describe (``.chain.json``; an older ``.chainId`` gives the id alone)."""
        if self.dir is None:
            return None
        f = self.dir / ".chain.json"
        if f.exists():
            return self._read_model(f, ChainIdentity)
        legacy = self.dir / ".chainId"
        return ChainIdentity(chain_id=int(legacy.read_text().strip())) if legacy.exists() else None

    def save_identity(self, ident: ChainIdentity) -> None:
        if self.dir is None:
            return
        self._write(self.dir / ".chain.json", ident.model_dump_json(by_alias=True) + "\n")
        (self.dir / ".chainId").unlink(missing_ok=True)

    def set_aside(self) -> Path | None:
        """Move every record of this network (contracts, roles, journals, distributions) under
        ``.replaced/<n>/``, for a deployment on another chain; where they went (None when there were none)."""
        if self.dir is None or not self.dir.exists():
            return None
        entries = [p for p in self.dir.iterdir() if p.name != ".replaced"]
        if not entries:
            return None
        base = self.dir / ".replaced"
        dest = base / str(len(list(base.iterdir())) + 1 if base.exists() else 1)
        dest.mkdir(parents=True)
        for p in entries:
            os.replace(p, dest / p.name)
        return dest

    def roles(self) -> dict[str, dict[str, Any]]:
        """Who was given each role of the stack (``roles.json``): ``{role: {"holder": address, "safe": {"owners":
        [...], "threshold": M, "salt": n} or absent}}``. What the chain says is checked by ``rwa roles``."""
        if self.dir is None:
            return dict(self._roles)
        path = self.dir / "roles.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DeploymentRecordError(f"{path}: {exc}") from None

    def save_roles(self, roles: dict[str, dict[str, Any]]) -> None:
        merged = {**self.roles(), **roles}
        if self.dir is None:
            self._roles = merged
            return
        self._write(self.dir / "roles.json", json.dumps(merged, indent=2, sort_keys=True) + "\n")

    def pending(self, name: str) -> PendingDeployment | None:
        if self.dir is None:
            return self._pending.get(name)
        path = self.dir / ".pending" / f"{name}.json"
        return self._read_model(path, PendingDeployment) if path.exists() else None

    # --- writing ------------------------------------------------------------------

    def _write(self, path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def check_chain(self, chain_id: int) -> None:
        """Refuse to mix records of two chains under one network name; write ``.chainId`` on first use."""
        if self.dir is None:
            return
        recorded = self.chain_id()
        if recorded is None:
            self.save_identity(ChainIdentity(chain_id=chain_id))
        elif recorded != chain_id:
            raise DeploymentError(
                f"deployments/{self.network} belongs to chain {recorded}, but the node is chain {chain_id}"
            )

    def save(self, record: DeploymentRecord, solc_input: dict[str, Any] | None = None) -> None:
        if self.dir is None:
            self._memory[record.contract_name] = record
            return
        if solc_input is not None:
            inp = self.dir / "solcInputs" / f"{record.solc_input_hash}.json"
            if not inp.exists():
                self._write(inp, json.dumps(solc_input, sort_keys=True, separators=(",", ":")))
        self._write(self.dir / f"{record.contract_name}.json", record.to_json() + "\n")

    def save_pending(self, entry: PendingDeployment) -> None:
        if self.dir is None:
            self._pending[entry.contract_name] = entry
            return
        self._write(self.dir / ".pending" / f"{entry.contract_name}.json", entry.model_dump_json(by_alias=True))

    def clear_pending(self, name: str) -> None:
        if self.dir is None:
            self._pending.pop(name, None)
        else:
            (self.dir / ".pending" / f"{name}.json").unlink(missing_ok=True)


class Deployer:
    """Deploys compiled contracts once per network and reuses what is recorded."""

    def __init__(self, tx: Transactor, build: CompileResult, store: DeploymentStore, log=None):
        self.tx = tx
        self.build = build
        self.store = store
        self.log = log or (lambda message: None)
        store.check_chain(tx.chain.chain_id)
        self._chain_verified = store.dir is None  # in-memory records live and die with their chain

    def verify_chain(self, redeploy: bool = False) -> None:
        """Check (once) that the records describe the node's chain; with ``redeploy`` records of another chain are
        set aside, else :class:`ChainChanged` names both chains."""
        if self._chain_verified:
            return
        problem = self._chain_problem()
        if problem is not None:
            if not redeploy:
                raise ChainChanged(f"{problem}: the node was reset or is another chain. Nothing was deployed; pass "
                                   "--redeploy (redeploy=True) to deploy afresh on this chain (the old records are "
                                   f"kept under deployments/{self.store.network}/.replaced/)")
            moved = self.store.set_aside()
            self.log(f"{problem}; the old records are now under {moved}")
            self.store.save_identity(ChainIdentity(chain_id=self.chain.chain_id))
        self._chain_verified = True

    def _block_hash(self, number: int) -> str | None:
        if number > self.chain.w3.eth.block_number:
            return None
        return self.chain.w3.eth.get_block(number)["hash"].to_0x_hex()

    def _chain_problem(self) -> str | None:
        """Why the records do not describe the node's chain, or None (an older record gains its block anchor)."""
        ident = self.store.identity()
        where = f"deployments/{self.store.network}"
        if ident is not None and ident.block is not None:
            found = self._block_hash(ident.block)
            if found == ident.hash:
                return None
            now = f"the node has no block {ident.block}" if found is None else f"the node's block {ident.block} is {found}"
            return f"{where} describes {ident.describe()}, but {now}"
        records = self.store.all()
        if not records:
            return None
        first = min(records.values(), key=lambda r: r.block_number)
        raw = self.tx.receipt_or_none(first.transaction_hash)
        receipt = Receipt.from_raw(first.transaction_hash, raw) if raw is not None else None
        if receipt is None or receipt.contract_address != first.address:
            return (f"{where} records {first.contract_name} deployed by {first.transaction_hash} in block "
                    f"{first.block_number}, which this node's chain does not have")
        self._anchor(receipt)
        return None

    def _anchor(self, receipt: Receipt) -> None:
        """Record the chain's identity at the block of a deployment (the first one on this chain)."""
        ident = self.store.identity()
        if ident is None or ident.block is None:
            block_hash = self._block_hash(receipt.block_number)
            self.store.save_identity(ChainIdentity(chain_id=self.chain.chain_id, block=receipt.block_number,
                                                   hash=block_hash))

    @property
    def chain(self) -> Chain:
        return self.tx.chain

    def contract(self, name: str) -> Contract:
        self.verify_chain()
        record = self.store.get(name)
        if record is None:
            raise DeploymentError(f"{name} is not deployed on {self.store.network}")
        return self.chain.w3.eth.contract(address=record.address, abi=record.abi)

    def _code_at(self, address: str) -> bool:
        return len(self.chain.w3.eth.get_code(address)) > 0

    def deploy(self, name: str, *args: Any, artifact: str | None = None, redeploy: bool = False) -> Contract:
        """Deploy ``name`` (a record name; ``artifact`` when it differs from the contract) or reuse its record."""
        art: Artifact = self.build[artifact or name]
        self.verify_chain(redeploy)
        args_json = _jsonable(list(args))
        record = self.store.get(name)
        if record is not None and not redeploy and self._code_at(record.address):
            if record.bytecode_hash == art.bytecode_hash and record.args == args_json:
                self.log(f"reusing {name} at {record.address}")
                return self.chain.w3.eth.contract(address=record.address, abi=art.abi)
            raise BytecodeChanged(
                f"{name} at {record.address} was deployed from other bytecode or arguments; "
                "pass --redeploy (redeploy=True) to deploy a new one"
            )

        pending = self.store.pending(name)
        if pending is not None:
            receipt = self._resume(pending)
            if receipt is not None and pending.bytecode_hash == art.bytecode_hash and pending.args == args_json:
                return self._record(name, art, args_json, receipt, previous=record)
            self.store.clear_pending(name)

        tx = self.tx.build_deploy(art, *args)
        tx["nonce"] = nonce = self.tx.next_nonce()
        signed = self.tx.signer.sign({k: v for k, v in tx.items() if k != "from"})
        self.store.save_pending(
            PendingDeployment(
                contract_name=name,
                transaction_hash=signed.hash.to_0x_hex(),
                raw_transaction=signed.raw_transaction.to_0x_hex(),
                nonce=nonce,
                deployer=self.tx.address,
                args=args_json,
                bytecode_hash=art.bytecode_hash,
                solc_input_hash=self.build.solc_input_hash,
            )
        )
        try:
            self.chain.w3.eth.send_raw_transaction(signed.raw_transaction)
        except NodeUnavailable:  # the node may hold it: keep the journal, the next run finds or re-sends it
            self.tx.reset_nonce()
            raise
        except Exception as exc:
            self.tx.reset_nonce()
            self.store.clear_pending(name)
            raise DeploymentError(f"deploying {name} failed: {exc}") from None
        receipt = self.tx.wait(signed.hash.to_0x_hex())
        self.log(f"deployed {name} at {receipt.contract_address} (gas {receipt.gas_used})")
        return self._record(name, art, args_json, receipt, previous=record)

    def _resume(self, pending: PendingDeployment) -> Receipt | None:
        """Find (or re-broadcast) the journaled transaction of an interrupted run."""
        w3 = self.chain.w3
        receipt = self.tx.receipt_or_none(pending.transaction_hash)
        if receipt is None:
            try:
                w3.eth.send_raw_transaction(pending.raw_transaction)
            except Exception as exc:  # its nonce was used by something else: it can never be mined
                if "nonce" in str(exc).lower():
                    return None
                raise DeploymentError(f"re-broadcasting the pending deployment failed: {exc}") from None
        self.log(f"found the interrupted deployment of {pending.contract_name}: {pending.transaction_hash}")
        self.tx.reset_nonce()
        return self.tx.wait(pending.transaction_hash)

    def _record(self, name: str, art: Artifact, args_json: list, receipt: Receipt, previous=None) -> Contract:
        record = DeploymentRecord(
            contract_name=name,
            address=receipt.contract_address,
            abi=art.abi,
            transaction_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            args=args_json,
            deployer=self.tx.address,
            bytecode_hash=art.bytecode_hash,
            solc_input_hash=self.build.solc_input_hash,
            num_deployments=(previous.num_deployments + 1) if previous else 1,
        )
        if self.store.dir is not None:
            self._anchor(receipt)
        self.store.save(record, self.build.solc_input() if self.store.dir is not None else None)
        self.store.clear_pending(name)
        return self.chain.w3.eth.contract(address=record.address, abi=art.abi)
