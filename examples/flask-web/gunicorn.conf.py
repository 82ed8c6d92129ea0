bind = '0.0.0.0:8080'
workers = 1
threads = 4
timeout = 30
keepalive = 2
accesslog = '-'
errorlog = '-'
loglevel = 'info'
