"""Chaos Studio as plain objects, by concept: targets and capabilities (targets.py),
experiments and what is validated when they are PUT (experiments.py), executions and their
runInformation (executions.py), the registry of them all (state.py, `World.chaos`), and the
execution engine: pre-processing (preprocessing.py), the fault library (faults.py) and the run
itself (executor.py). No HTTP here; emulator/responses/chaos_*.py render these objects.
"""

from emulator.models.chaos.executions import Execution
from emulator.models.chaos.experiments import Experiment
from emulator.models.chaos.state import ChaosState
from emulator.models.chaos.targets import ChaosTarget

__all__ = ["ChaosState", "ChaosTarget", "Execution", "Experiment"]
