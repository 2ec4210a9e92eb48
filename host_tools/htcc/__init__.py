"""The Command Center server: the floor arbiter (htcc.arbiter) today; console, recorder and registry later."""
