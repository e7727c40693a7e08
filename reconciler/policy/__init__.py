"""Policy rules' language: the variables each kind of rule reads, and CEL (the `policy` extra).

vocabulary.py says what each kind of rule may read; cel.py compiles and evaluates the expressions.

Below the stages that use it: loading compiles every rule to place its errors, the engine evaluates
them over what a plan touches (engine/policies.py). Only cel.py imports the CEL library, which the
`[policy]` extra installs.
"""
