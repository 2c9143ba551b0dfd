// Creates the ACLs listed in a file through Kafka's Admin API and waits until the broker enforces them.
// Run by deploy/kafka/launcher.py with the JDK's single-file source launcher:
//   java -cp '<kafka libs>/*' AclSetup.java <admin client properties> <acl file> <timeout seconds>
// Each line of the ACL file: permission|principal|resource type|pattern type|resource name|operation.
// Creating an ACL that exists already is a no-op, so this runs on every `up --secure`.

import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public final class AclSetup {
    public static void main(String[] args) throws Exception {
        Properties config = new Properties();
        try (Reader reader = Files.newBufferedReader(Path.of(args[0]))) {
            config.load(reader);
        }
        List<AclBinding> wanted = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split("\\|", -1);
            ResourcePattern resource =
                    new ResourcePattern(ResourceType.fromString(f[2]), f[4], PatternType.fromString(f[3]));
            AccessControlEntry entry = new AccessControlEntry(
                    f[1], "*", AclOperation.fromString(f[5]), AclPermissionType.fromString(f[0]));
            wanted.add(new AclBinding(resource, entry));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[2]));
        try (Admin admin = Admin.create(config)) {
            admin.createAcls(wanted).all().get(remaining(deadline), TimeUnit.NANOSECONDS);
            // createAcls returns once the controller has the records; the broker applies them a moment later.
            while (true) {
                Collection<AclBinding> enforced =
                        admin.describeAcls(AclBindingFilter.ANY).values().get(remaining(deadline), TimeUnit.NANOSECONDS);
                if (enforced.containsAll(wanted)) {
                    break;
                }
                if (remaining(deadline) <= 0) {
                    throw new IllegalStateException("the broker did not report every ACL in time");
                }
                Thread.sleep(100);
            }
        }
        System.out.println("ACLs in force: " + wanted.size());
    }

    private static long remaining(long deadline) {
        return Math.max(0, deadline - System.nanoTime());
    }
}
