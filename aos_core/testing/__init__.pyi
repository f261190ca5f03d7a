# The public API of aos_core.testing, listed once: type checkers read this file, and
# aos_core/testing/__init__.py loads each name from the module named here on first use.

from aos_core.execution.clock import VirtualClock as VirtualClock
from aos_core.execution.seeds import seeded_random as seeded_random
from aos_core.testing.conformance import RUNTIME_CODES as RUNTIME_CODES
from aos_core.testing.conformance import ContractReport as ContractReport
from aos_core.testing.conformance import SkillReport as SkillReport
from aos_core.testing.conformance import check_skill_contract as check_skill_contract
from aos_core.testing.fakes import FakeInput as FakeInput
from aos_core.testing.fakes import FakeOutput as FakeOutput
from aos_core.testing.fakes import FakePlugin as FakePlugin
from aos_core.testing.fakes import FakeSkill as FakeSkill
from aos_core.testing.fakes import ScriptedPlanner as ScriptedPlanner
from aos_core.testing.fakes import fake_skill as fake_skill
from aos_core.testing.loading import ContractViolation as ContractViolation
from aos_core.testing.loading import check_plugin as check_plugin
from aos_core.testing.loading import load_plugin as load_plugin
from aos_core.testing.loading import runtime_for as runtime_for
from aos_core.testing.messages_api import MessagesAPIServer as MessagesAPIServer

FixedClock = VirtualClock  # another name for it: a clock that stands still until a test moves it
