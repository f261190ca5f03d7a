raise GeneratorExit("closed while importing")
