def hello() -> str:
    return "Hello from library!"
