# 最简单的服务器例子
import socket

# TCP服务端编程
server = socket.socket() # 创建socket对象
laddr = ('0.0.0.0', 9999) # 地址和端口的元组
server.bind(laddr) # 绑定
server.listen(1024) # 监听
# 等待建立连接的客户端
conn, raddr = server.accept() # 阻塞

data = conn.recv(4096) # 接收客户端信息
print(conn.getpeername(), data)
conn.send(b"Hello magedu.com") # 回应客户端

conn.close()
server.close()
