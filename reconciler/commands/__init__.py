"""The jobs the command line runs, one call each: read the YAML and the store, run the stages.

apply        `apply`, whole: plan or read a saved plan, check, ask, apply, deliver (`run_apply`)
operations   `plan`, `drift` and `usage`: what each reads and compares
csv_import   `import csv`: the portal's CSV, or our export, as a desired-state users file
fmt          `fmt`: validate the account, lay each file out as export writes, read it back, write it
files        writing a file whole or not at all
directory    `directory pull`: read the directory, guard the shrink, write its file
workspace    `plan`, `apply`, `drift`, `usage` and `notify` over a workspace's many accounts
"""
