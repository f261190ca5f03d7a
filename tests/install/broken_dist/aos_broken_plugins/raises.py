from aos_core import hookimpl


@hookimpl
def aos_register_skills(register):
    raise KeyError("WEATHER_API_URL")
