import numpy as np
import pandas as pd
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
handler = Mangum(app)


@app.get("/")
async def root() -> dict:
    frame = pd.DataFrame({"x": np.arange(10)})
    return {"sum": int(frame["x"].sum())}
