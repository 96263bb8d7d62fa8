package testbackend

import (
	"fmt"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	postgresImageEnv = "SESSIONS_TEST_IMAGE_POSTGRES"
	postgresImage    = "postgres:16"
	postgresPort     = "5432/tcp"

	mariadbImageEnv = "SESSIONS_TEST_IMAGE_MARIADB"
	mariadbImage    = "mariadb:11"
	mysqlImageEnv   = "SESSIONS_TEST_IMAGE_MYSQL"
	mysqlImage      = "mysql:8"
	mysqlPort       = "3306/tcp"

	// sqlUser is the user, password and database of every SQL server.
	sqlUser = "sessions"
)

// startPostgres starts PostgreSQL with password authentication.
func startPostgres() (string, error) {
	c, err := run(image(postgresImageEnv, postgresImage),
		testcontainers.WithExposedPorts(postgresPort),
		testcontainers.WithEnv(map[string]string{
			"POSTGRES_USER": sqlUser, "POSTGRES_PASSWORD": sqlUser, "POSTGRES_DB": sqlUser,
		}),
		testcontainers.WithCmd("postgres", "-c", "fsync=off"),
		// The entrypoint logs it once for the setup server, then for the real one.
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").
			WithOccurrence(2).WithStartupTimeout(startTimeout)),
	)
	if err != nil {
		return "", err
	}
	addr, err := endpoint(c, postgresPort)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", sqlUser, sqlUser, addr, sqlUser), nil
}

// startMariaDB starts MariaDB.
func startMariaDB() (string, error) {
	return startMySQLLike(image(mariadbImageEnv, mariadbImage), "MARIADB_")
}

// startMySQL starts MySQL.
func startMySQL() (string, error) {
	return startMySQLLike(image(mysqlImageEnv, mysqlImage), "MYSQL_")
}

// startMySQLLike starts MariaDB or MySQL, configured by the official
// images' environment variables, which start with prefix.
func startMySQLLike(img, prefix string) (string, error) {
	c, err := run(img,
		testcontainers.WithExposedPorts(mysqlPort),
		testcontainers.WithEnv(map[string]string{
			prefix + "USER": sqlUser, prefix + "PASSWORD": sqlUser, prefix + "DATABASE": sqlUser,
			prefix + "ROOT_PASSWORD": sqlUser,
		}),
		// The setup server, if any, logs "port: 0"; MariaDB (official and
		// Debian builds) and MySQL log this once they accept connections.
		testcontainers.WithWaitStrategy(wait.ForLog("port: 3306  ").WithStartupTimeout(startTimeout)),
	)
	if err != nil {
		return "", err
	}
	addr, err := endpoint(c, mysqlPort)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", sqlUser, sqlUser, addr, sqlUser), nil
}
