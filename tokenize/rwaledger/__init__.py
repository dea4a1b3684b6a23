"""rwaledger: a real-world-asset tokenization ledger.

Modules, one concept each:

* :mod:`rwaledger.compiler` - pinned solc, standard-JSON compile, artifact cache
* :mod:`rwaledger.node` - the anvil process
* :mod:`rwaledger.chain` - tester / anvil / URL chains and dev-chain helpers
* :mod:`rwaledger.signers` - dev accounts, keystores, environment keys
* :mod:`rwaledger.transactions` - build, sign, send, wait; nonces and fees
* :mod:`rwaledger.reverts` - revert data -> typed exceptions
* :mod:`rwaledger.deployments` - hardhat-deploy style records and the deployer
* :mod:`rwaledger.errors` - the exception hierarchy
* :mod:`rwaledger.cli` - the ``rwa`` command (a thin layer over the above)
"""

__version__ = "0.1.0"
