"""Function selectors the services encode by hand for batched pre-checks and pipelined transfers, read from the
shipped ABI (never a signature typed by hand)."""

from __future__ import annotations

from eth_utils import function_abi_to_4byte_selector


def _selector(contract: str, name: str, inputs: int) -> bytes:
    from ..shipped import load

    (item,) = [i for i in load()[contract].abi
               if i.get("type") == "function" and i["name"] == name and len(i["inputs"]) == inputs]
    return function_abi_to_4byte_selector(item)


DETECT_RESTRICTION = _selector("PropertyShareToken", "detectTransferRestriction", 3)  # ERC-1404: the reason code
TRANSFER = _selector("PropertyShareToken", "transfer", 2)
TRANSFER_GAS = 150_000  # generous upper bound for one compliant transfer (measured 51k-108k, scripts/gas_report.py)

# distribution claims, pre-checked and pipelined (DistributionService.claim_many)
CLAIM = _selector("DistributionManager", "claim", 5)
IS_CLAIMED = _selector("DistributionManager", "isClaimed", 2)
IS_WITHHELD = _selector("DistributionManager", "isWithheld", 2)
SUCCESSOR_OF = _selector("PropertyShareToken", "successorOf", 1)
CAN_TRANSACT = _selector("PropertyShareToken", "canTransact", 1)
CLAIM_GAS = 200_000  # upper bound for one claim (worst measured 115,771 with a short proof, scripts/gas_report.py)
