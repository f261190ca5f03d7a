from aos_broken_plugins.common import In, Out
from aos_core import SideEffect, SkillMetadata, hookimpl

TOKEN = "sk-live-" + "9f8e7d6c5b4a" * 20  # secret-looking: must never be echoed back


class BadFields:
    metadata = SkillMetadata(
        name="bad_fields_skill",
        version="0.0.1",
        description="test",
        side_effect=SideEffect.NONE,
        idempotent=True,
        deterministic=True,
        timeout_ms=0,
        permissions=(TOKEN,) * 3,
    )
    Input = In
    Output = Out

    def execute(self, params, ctx):
        return Out(text=params.text)


@hookimpl
def aos_register_skills(register):
    register(BadFields())
