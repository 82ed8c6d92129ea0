from flask import Flask, jsonify, request

app = Flask(__name__)

@app.route('/')
def health():
    return jsonify(status='healthy')

@app.route('/api/hello')
def hello():
    name = request.args.get('name', 'World')
    return jsonify(message=f'Hello, {name}!')

@app.route('/api/echo', methods=['POST'])
def echo():
    data = request.get_json()
    return jsonify(received=data)
