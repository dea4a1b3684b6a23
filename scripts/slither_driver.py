"""Run slither's detectors over one self-contained solc standard-JSON input (run by ``scripts/slither_check.py``
inside slither's own venv: slither-analyzer pins web3 < 8, the project needs web3 8, so they never share one).

    python slither_driver.py INPUT.json SOLC OUTPUT.json

Writes one compact record per finding: check, impact, confidence, where (the first element as slither names it,
e.g. ``AssetRegistry._writeText(string,string,string)``: stable when lines move), file, line, description.
"""

import inspect
import json
import sys

from crytic_compile import CryticCompile
from crytic_compile.platform.solc_standard_json import SolcStandardJson
from slither import Slither
from slither.detectors import all_detectors
from slither.detectors.abstract_detector import AbstractDetector

# what slither's parser reads (the project's own build asks solc for less: no source maps)
OUTPUT_SELECTION = {"*": {"*": ["abi", "metadata", "devdoc", "userdoc", "evm.bytecode", "evm.deployedBytecode"],
                          "": ["ast"]}}


def _record(r: dict) -> dict:
    first = r["description"].strip().splitlines()[0]
    mapping = r["elements"][0]["source_mapping"] if r["elements"] else {}
    lines = mapping.get("lines") or [0]
    return {"check": r["check"], "impact": r["impact"], "confidence": r["confidence"],
            "where": first.split(" (", 1)[0].strip(), "file": mapping.get("filename_relative", "?"),
            "line": lines[0], "description": r["description"].strip()}


def main(input_path: str, solc: str, output_path: str) -> None:
    with open(input_path) as f:
        solc_input = json.load(f)
    solc_input["settings"]["outputSelection"] = OUTPUT_SELECTION
    slither = Slither(CryticCompile(SolcStandardJson(solc_input), solc=solc),
                      filter_paths=["node_modules", "contracts/test/"])
    for _, detector in inspect.getmembers(all_detectors, inspect.isclass):
        if issubclass(detector, AbstractDetector):
            slither.register_detector(detector)
    findings = [_record(r) for results in slither.run_detectors() for r in results]
    with open(output_path, "w") as f:
        json.dump(findings, f, indent=1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
