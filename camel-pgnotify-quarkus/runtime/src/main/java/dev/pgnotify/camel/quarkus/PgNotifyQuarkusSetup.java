package dev.pgnotify.camel.quarkus;

import java.util.Optional;

import javax.sql.DataSource;

import io.agroal.api.AgroalDataSource;
import io.quarkus.agroal.runtime.AgroalDataSourceUtil;
import io.quarkus.datasource.common.runtime.DataSourceUtil;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import org.apache.camel.CamelContext;
import org.apache.camel.quarkus.core.events.ComponentAddEvent;

import dev.pgnotify.camel.PgNotifyComponent;
import dev.pgnotify.camel.PgNotifyConfiguration;

/**
 * Gives the pgnotify component what a Quarkus application has, when it is added to the CamelContext: the
 * application's named Agroal DataSources under their names in Camel's registry (so that
 * {@code camel.component.pgnotify.data-source=#orders} or {@code ?dataSource=#orders} finds
 * {@code quarkus.datasource.orders.*}), the default DataSource when neither a dataSource nor a jdbcUrl is configured
 * (Camel's autowiring alone picks nothing once the application has several), and the JTA transactions.
 * camel.component.pgnotify.* properties still win: they are bound after this, over these values.
 */
@Singleton
public class PgNotifyQuarkusSetup {

    private final JtaPgNotifyTransactions transactions;

    public PgNotifyQuarkusSetup(JtaPgNotifyTransactions transactions) {
        this.transactions = transactions;
    }

    void onComponentAdd(@Observes ComponentAddEvent event) {
        if (!(event.getComponent() instanceof PgNotifyComponent component)) {
            return;
        }
        CamelContext context = component.getCamelContext();
        bindNamedDataSources(context);
        PgNotifyConfiguration configuration = component.getConfiguration();
        if (configuration.getDataSource() == null && configuration.getJdbcUrl() == null) {
            Optional<AgroalDataSource> defaultDataSource = AgroalDataSourceUtil.dataSourceIfActive(
                    DataSourceUtil.DEFAULT_DATASOURCE_NAME);
            defaultDataSource.ifPresent(configuration::setDataSource);
        }
        if (configuration.getTransactions() == null) {
            configuration.setTransactions(transactions);
        }
    }

    /** Binds the named DataSources the registry does not know by name yet. */
    private static void bindNamedDataSources(CamelContext context) {
        for (String name : AgroalDataSourceUtil.activeDataSourceNames()) {
            if (DataSourceUtil.isDefault(name)
                || context.getRegistry().lookupByNameAndType(name, DataSource.class) != null) {
                continue;
            }
            AgroalDataSourceUtil.dataSourceIfActive(name)
                    .ifPresent(dataSource -> context.getRegistry().bind(name, DataSource.class, dataSource));
        }
    }
}
