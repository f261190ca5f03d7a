# The public API of aos_core, listed once: type checkers read this file, and aos_core/__init__.py
# loads each name from the module named here on first use (aos_core/_lazy.py).
# tests/guards/test_public_api.py pins the list.

from aos_core.contracts.config import RuntimeConfig as RuntimeConfig
from aos_core.contracts.cost import Cost as Cost
from aos_core.contracts.cost import CostEstimate as CostEstimate
from aos_core.contracts.cost import CostModel as CostModel
from aos_core.contracts.cost import CostWarning as CostWarning
from aos_core.contracts.errors import CatalogEntry as CatalogEntry
from aos_core.contracts.errors import ErrorCategory as ErrorCategory
from aos_core.contracts.errors import ErrorCode as ErrorCode
from aos_core.contracts.errors import ErrorInfo as ErrorInfo
from aos_core.contracts.errors import failure_catalog as failure_catalog
from aos_core.contracts.errors import make_error as make_error
from aos_core.contracts.exceptions import AOSError as AOSError
from aos_core.contracts.exceptions import RunBusy as RunBusy
from aos_core.contracts.exceptions import RunNotFinished as RunNotFinished
from aos_core.contracts.exceptions import RunNotFound as RunNotFound
from aos_core.contracts.exceptions import StoreError as StoreError
from aos_core.contracts.exceptions import TraceError as TraceError
from aos_core.contracts.exceptions import UnknownSkill as UnknownSkill
from aos_core.contracts.outcome import StructuredOutcome as StructuredOutcome
from aos_core.contracts.plan import Plan as Plan
from aos_core.contracts.plan import PlanProblem as PlanProblem
from aos_core.contracts.plan import PlanResult as PlanResult
from aos_core.contracts.plan import PlanStep as PlanStep
from aos_core.contracts.profile import AgentProfile as AgentProfile
from aos_core.contracts.profile import NetworkPolicy as NetworkPolicy
from aos_core.contracts.profile import Policy as Policy
from aos_core.contracts.profile import RetryPolicy as RetryPolicy
from aos_core.contracts.protocols import Cancellation as Cancellation
from aos_core.contracts.protocols import Classification as Classification
from aos_core.contracts.protocols import Clock as Clock
from aos_core.contracts.protocols import CostEstimator as CostEstimator
from aos_core.contracts.protocols import EstimateContext as EstimateContext
from aos_core.contracts.protocols import FailureClassifier as FailureClassifier
from aos_core.contracts.protocols import Planner as Planner
from aos_core.contracts.protocols import PlannerContext as PlannerContext
from aos_core.contracts.protocols import PlanRequest as PlanRequest
from aos_core.contracts.protocols import PreflightContext as PreflightContext
from aos_core.contracts.protocols import Skill as Skill
from aos_core.contracts.protocols import SkillContext as SkillContext
from aos_core.contracts.protocols import SkillError as SkillError
from aos_core.contracts.resources import RateLimit as RateLimit
from aos_core.contracts.resources import ResourceContract as ResourceContract
from aos_core.contracts.runs import ReplayResult as ReplayResult
from aos_core.contracts.runs import RunResult as RunResult
from aos_core.contracts.runs import RunSummary as RunSummary
from aos_core.contracts.runs import SimulationReport as SimulationReport
from aos_core.contracts.skill import SideEffect as SideEffect
from aos_core.contracts.skill import SkillMetadata as SkillMetadata
from aos_core.hookspecs import hookimpl as hookimpl
from aos_core.plugins.reports import PluginReport as PluginReport
from aos_core.policy import ApprovalRequest as ApprovalRequest
from aos_core.runtime import Runtime as Runtime

__version__: str
