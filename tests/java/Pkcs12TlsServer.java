// Test peer for the PKI modules: a TLS server that serves the key and certificate of a PKCS#12 store,
// the way the DCV Session Manager broker's Java connectors do.  Used by tests/unit/plugins/ only.
//
// Usage: java Pkcs12TlsServer STORE_FILE STORE_TYPE PASSWORD
//   STORE_TYPE is PKCS12 or JKS (Java 11+ reads a PKCS#12 file through the JKS type too, which is what a
//   broker configured with the documented .jks example would do).
// Prints "LISTENING <port>" and the algorithms it loaded, serves one TLS connection on 127.0.0.1, writes
// "hello from java <alias>\n", and exits 0; any load or handshake failure exits non-zero with the reason.
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.util.Collections;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

public final class Pkcs12TlsServer {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: Pkcs12TlsServer STORE_FILE STORE_TYPE PASSWORD");
            System.exit(2);
        }
        char[] password = args[2].toCharArray();
        KeyStore store = KeyStore.getInstance(args[1]);
        try (InputStream in = new FileInputStream(args[0])) {
            store.load(in, password);  // checks the MAC and decrypts the certificate bag
        }
        String alias = null;
        for (String name : Collections.list(store.aliases())) {
            if (store.isKeyEntry(name)) {
                alias = name;
            }
        }
        if (alias == null) {
            System.err.println("no private key entry in " + args[0]);
            System.exit(3);
        }
        store.getKey(alias, password);  // decrypts the shrouded key bag
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, password);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        try (SSLServerSocket server = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            System.out.println("JAVA " + System.getProperty("java.version") + " TYPE " + store.getType()
                    + " CHAIN " + store.getCertificateChain(alias).length);
            System.out.println("LISTENING " + server.getLocalPort());
            System.out.flush();
            server.setSoTimeout(30000);
            try (SSLSocket client = (SSLSocket) server.accept()) {
                client.startHandshake();
                OutputStream out = client.getOutputStream();
                out.write(("hello from java " + alias + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
    }
}
