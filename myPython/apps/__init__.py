"""What users run: the `deep-retrieval` command line (cli + commands/), the demo, the HTML report, the threshold
study and the Oxford/Paris evaluator behind `test.py`. May import every other package; nothing imports it
except the top-level scripts.
"""
