from dedup.cli import app

app(prog_name="dedup")
