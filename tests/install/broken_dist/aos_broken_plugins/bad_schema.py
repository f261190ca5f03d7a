from pydantic import BaseModel

from aos_broken_plugins.common import Echo
from aos_core import hookimpl


class Odd(BaseModel):
    text: str = ""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema, handler):
        return {"type": "object", "properties": {"text": {"type": "txt"}}}


class OddSchema(Echo):
    Input = Odd


@hookimpl
def aos_register_skills(register):
    register(OddSchema("odd_schema_skill"))
